//! Graceful shutdown on SIGTERM: requests in flight finish, then the server stops. (Its own
//! test binary, since it signals the test process.)
#![cfg(unix)]

mod common;

use std::time::Duration;

use common::LOCALHOST;
use genkit_core::{ActionCx, ActionDef, ActionType};
use genkit_server::{FlowServerOptions, start_flow_server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_gracefully() {
    let slow = ActionDef::builder(ActionType::Flow, "slow").build(|ms: u64, _cx: ActionCx<()>| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(ms)
    });
    let server = start_flow_server(FlowServerOptions::new().flow(slow).host(LOCALHOST).port(0)).await.unwrap();
    let url = format!("http://{}/slow", server.local_addr());
    let in_flight = tokio::spawn({
        let url = url.clone();
        async move {
            let res = reqwest::Client::new()
                .post(url)
                .header("content-type", "application/json")
                .body(r#"{"data":400}"#)
                .send()
                .await
                .unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = std::process::Command::new("kill").args(["-TERM", &std::process::id().to_string()]).status().unwrap();
    assert!(status.success());
    tokio::time::timeout(Duration::from_secs(5), server.wait()).await.expect("no shutdown").unwrap();
    assert_eq!(in_flight.await.unwrap(), (200, r#"{"result":400}"#.to_owned()));
    let refused = reqwest::Client::new().post(url).body("{}").send().await;
    assert!(refused.is_err(), "the server still accepts connections");
}
