use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::{Value, json};

use super::*;
use crate::{ActionCx, ActionDef, Plugin, PluginValue, RunOptions};

fn echo(t: ActionType, name: &str) -> Arc<dyn Action> {
    ActionDef::builder(t, name).build(|v: Value, _cx: ActionCx<()>| async move { Ok(v) }).as_action()
}

#[tokio::test]
async fn register_lookup_and_not_found() {
    let r = Registry::new();
    r.register_action(echo(ActionType::Flow, "a")).unwrap();
    let a = r.lookup_action("/flow/a").await.unwrap().unwrap();
    assert_eq!(a.name(), "a");
    assert!(r.lookup_action("/flow/b").await.unwrap().is_none());
    let e = r.require_action("/flow/b").await.unwrap_err();
    assert_eq!(e.status(), Status::NotFound);
    let e = r.require_action("flow/b").await.unwrap_err();
    assert_eq!(e.status(), Status::InvalidArgument);
}

#[tokio::test]
async fn duplicate_registration_overwrites() {
    let r = Registry::new();
    r.register_action(echo(ActionType::Flow, "a")).unwrap();
    let second: Arc<dyn Action> = ActionDef::builder(ActionType::Flow, "a")
        .build(|_: Value, _cx: ActionCx<()>| async move { Ok(json!("second")) })
        .as_action();
    r.register_action(second).unwrap();
    let a = r.require_action("/flow/a").await.unwrap();
    assert_eq!(a.run_json(json!(1), RunOptions::new()).await.unwrap().result, json!("second"));
}

#[tokio::test]
async fn defining_while_an_action_runs_fails_precondition() {
    let r = Registry::new();
    let r2 = r.clone();
    let definer: Arc<dyn Action> = ActionDef::builder(ActionType::Flow, "definer")
        .build(move |_: Value, _cx: ActionCx<()>| {
            let r = r2.clone();
            async move {
                let e = r.register_action(echo(ActionType::Tool, "late")).unwrap_err();
                // Child registries (per-call dynamic tools) are fine.
                r.child().register_action(echo(ActionType::Tool, "dyn")).unwrap();
                Ok(json!([e.status().as_str(), e.message()]))
            }
        })
        .as_action();
    r.register_action(definer.clone()).unwrap();
    let out = definer.run_json(json!(null), RunOptions::new()).await.unwrap().result;
    assert_eq!(out[0], "FAILED_PRECONDITION");
    assert!(out[1].as_str().unwrap().starts_with("Cannot define new actions at runtime"));
    assert!(r.lookup_action("/tool/late").await.unwrap().is_none());
}

struct Counting {
    inits: Arc<AtomicUsize>,
    resolves: Arc<AtomicUsize>,
}

impl Plugin for Counting {
    fn name(&self) -> &str {
        "cnt"
    }
    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        self.inits.fetch_add(1, Ordering::SeqCst);
        Ok(vec![echo(ActionType::Model, "static"), echo(ActionType::Model, "cnt/already")])
    }
    async fn resolve(&self, t: ActionType, name: &str) -> Result<Option<Arc<dyn Action>>> {
        self.resolves.fetch_add(1, Ordering::SeqCst);
        Ok((name.starts_with("dyn-")).then(|| echo(t, name)))
    }
    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        Ok(vec![ActionMetadata::new(ActionType::Model, "listed")])
    }
}

fn counting() -> (Registry, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let inits = Arc::new(AtomicUsize::new(0));
    let resolves = Arc::new(AtomicUsize::new(0));
    let r = Registry::new();
    r.register_plugin(Arc::new(Counting { inits: inits.clone(), resolves: resolves.clone() })).unwrap();
    (r, inits, resolves)
}

#[tokio::test]
async fn plugins_initialize_lazily_once_and_namespace() {
    let (r, inits, resolves) = counting();
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    // A lookup outside the plugin's namespace does not initialize it.
    assert!(r.lookup_action("/model/other/x").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    let a = r.lookup_action("/model/cnt/static").await.unwrap().unwrap();
    assert_eq!(a.name(), "cnt/static");
    assert!(r.lookup_action("/model/cnt/already").await.unwrap().is_some());
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert_eq!(resolves.load(Ordering::SeqCst), 0);
    // A miss asks the resolver, which may produce the action.
    let d = r.lookup_action("/model/cnt/dyn-1").await.unwrap().unwrap();
    assert_eq!(d.key(), "/model/cnt/dyn-1");
    assert!(r.lookup_action("/model/cnt/nope").await.unwrap().is_none());
    assert_eq!(resolves.load(Ordering::SeqCst), 2);
    // Resolved actions are registered: no second resolve.
    r.lookup_action("/model/cnt/dyn-1").await.unwrap().unwrap();
    assert_eq!(resolves.load(Ordering::SeqCst), 2);
    r.initialize_all_plugins().await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    let e = r.register_plugin(Arc::new(Counting { inits, resolves })).unwrap_err();
    assert_eq!(e.status(), Status::AlreadyExists);
    assert_eq!(e.message(), "Plugin cnt already registered");
}

#[tokio::test]
async fn model_like_actions_initialize_all_plugins_before_running() {
    let (r, inits, _) = counting();
    let model: Arc<dyn Action> = ActionDef::builder(ActionType::Model, "local")
        .initializes_plugins()
        .build(|v: Value, _cx: ActionCx<()>| async move { Ok(v) })
        .as_action();
    let flow = echo(ActionType::Flow, "f");
    r.register_action(model.clone()).unwrap();
    r.register_action(flow.clone()).unwrap();
    flow.run_json(json!(1), RunOptions::new()).await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    model.run_json(json!(1), RunOptions::new()).await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn listing_actions_and_resolvable_actions() {
    let (r, inits, _) = counting();
    r.register_action(echo(ActionType::Flow, "f")).unwrap();
    let all = r.list_actions().await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    let keys: Vec<&str> = all.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["/flow/f", "/model/cnt/already", "/model/cnt/static"]);
    let res = r.list_resolvable_actions().await.unwrap();
    assert!(res.contains_key("/model/cnt/listed"));
    assert_eq!(&*res["/model/cnt/listed"].name, "cnt/listed");
    assert!(res.contains_key("/flow/f"));
}

#[tokio::test]
async fn plugin_init_errors_surface_on_lookup() {
    struct Broken;
    impl Plugin for Broken {
        fn name(&self) -> &str {
            "broken"
        }
        async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
            Err(Error::new(Status::Unauthenticated, "missing API key: set BROKEN_API_KEY"))
        }
    }
    let r = Registry::new();
    r.register_plugin(Arc::new(Broken)).unwrap();
    let e = r.lookup_action("/model/broken/m").await.unwrap_err();
    assert_eq!(e.status(), Status::Unauthenticated);
    assert!(e.message().contains("initializing plugin 'broken' failed"));
    assert!(e.message().contains("BROKEN_API_KEY"));
}

#[tokio::test]
async fn lazy_actions_are_created_once_on_first_lookup() {
    let r = Registry::new();
    let made = Arc::new(AtomicUsize::new(0));
    let m2 = made.clone();
    r.register_action_lazy(ActionType::Prompt, "p", async move {
        m2.fetch_add(1, Ordering::SeqCst);
        Ok(echo(ActionType::Prompt, "p"))
    })
    .unwrap();
    assert_eq!(made.load(Ordering::SeqCst), 0);
    assert!(r.lookup_action("/prompt/p").await.unwrap().is_some());
    assert!(r.lookup_action("/prompt/p").await.unwrap().is_some());
    assert_eq!(made.load(Ordering::SeqCst), 1);
    r.register_action_lazy(ActionType::Prompt, "broken", async { Err(Error::invalid_argument("bad frontmatter")) })
        .unwrap();
    assert_eq!(r.lookup_action("/prompt/broken").await.unwrap_err().message(), "bad frontmatter");
}

#[tokio::test]
async fn child_registries_fall_back_but_keep_registrations_local() {
    let parent = Registry::new();
    parent.register_action(echo(ActionType::Tool, "shared")).unwrap();
    parent.register_schema("Person", json!({"type": "object"})).unwrap();
    parent.register_value("format", "json", RegistryValue::new(1u8));
    let child = parent.child();
    child.register_action(echo(ActionType::Tool, "local")).unwrap();
    assert!(child.lookup_action("/tool/shared").await.unwrap().is_some());
    assert!(child.lookup_action("/tool/local").await.unwrap().is_some());
    assert!(parent.lookup_action("/tool/local").await.unwrap().is_none());
    assert_eq!(child.lookup_schema("Person"), Some(json!({"type": "object"})));
    assert!(child.lookup_value("format", "json").await.unwrap().is_some());
    let keys: Vec<String> = child.list_actions().await.unwrap().into_keys().collect();
    assert_eq!(keys, vec!["/tool/local", "/tool/shared"]);
    assert!(Arc::ptr_eq(&child.telemetry(), &parent.telemetry()));
}

#[tokio::test]
async fn values_register_lookup_and_list() {
    let r = Registry::new();
    r.register_value("defaultModel", "defaultModel", RegistryValue::with_json("m".to_owned(), json!("googleai/x")));
    let v = r.lookup_value("defaultModel", "defaultModel").await.unwrap().unwrap();
    assert_eq!(*v.downcast::<String>().unwrap(), "m");
    assert_eq!(v.json(), Some(&json!("googleai/x")));
    assert!(v.downcast::<u32>().is_none());
    assert_eq!(r.list_values("defaultModel").await.unwrap().len(), 1);
    assert!(r.list_values("format").await.unwrap().is_empty());
}

#[tokio::test]
async fn named_schemas() {
    let r = Registry::new();
    r.register_schema("A", json!({"type": "string"})).unwrap();
    let e = r.register_schema("A", json!({})).unwrap_err();
    assert_eq!(e.message(), "Schema A already registered");
    assert_eq!(r.require_schema("B").unwrap_err().message(), "Schema 'B' not found");
    assert_eq!(r.require_schema("B").unwrap_err().status(), Status::NotFound);
}

struct Dap;

impl DynamicActionProvider for Dap {
    fn get_action<'a>(&'a self, t: ActionType, name: &'a str) -> BoxFuture<'a, Result<Option<Arc<dyn Action>>>> {
        async move { Ok((name != "missing").then(|| echo(t, name))) }.boxed()
    }
    fn list_action_metadata<'a>(&'a self, t: ActionType) -> BoxFuture<'a, Result<Vec<ActionMetadata>>> {
        async move {
            Ok(if t == ActionType::Tool {
                vec![
                    ActionMetadata::new(t, "fs_read"),
                    ActionMetadata::new(t, "fs_write"),
                    ActionMetadata::new(t, "net"),
                ]
            } else {
                vec![]
            })
        }
        .boxed()
    }
}

#[tokio::test]
async fn dynamic_action_provider_keys() {
    let r = Registry::new();
    r.register_dynamic_action_provider("mcp", Arc::new(Dap), echo(ActionType::DynamicActionProvider, "mcp")).unwrap();
    let a = r.lookup_action("/dynamic-action-provider/mcp:tool/fs_read").await.unwrap().unwrap();
    assert_eq!(a.name(), "fs_read");
    assert!(r.lookup_action("/dynamic-action-provider/mcp:tool/*").await.unwrap().is_none());
    assert!(r.lookup_action("/dynamic-action-provider/mcp").await.unwrap().is_some());
    let names = r.resolve_action_names("/dynamic-action-provider/mcp:tool/fs*").await.unwrap();
    assert_eq!(names, vec!["/dynamic-action-provider/mcp:tool/fs_read", "/dynamic-action-provider/mcp:tool/fs_write"]);
    assert_eq!(r.resolve_action_names("/dynamic-action-provider/mcp:tool/*").await.unwrap().len(), 3);
    assert!(r.resolve_action_names("/flow/none").await.unwrap().is_empty());
    let listed = r.list_resolvable_actions().await.unwrap();
    assert!(listed.contains_key("/dynamic-action-provider/mcp:tool/net"));
    // Children see the parent's providers.
    assert!(r.child().lookup_action("/dynamic-action-provider/mcp:tool/x").await.unwrap().is_some());
}

#[tokio::test]
async fn namespacing_into_a_plugin() {
    let r = Registry::new();
    r.register_action_in("ns", echo(ActionType::Tool, "t")).unwrap();
    r.register_action_in("ns", echo(ActionType::Tool, "ns/u")).unwrap();
    assert!(r.lookup_action("/tool/ns/t").await.unwrap().is_some());
    assert!(r.lookup_action("/tool/ns/u").await.unwrap().is_some());
    assert!(r.lookup_action("/tool/ns/ns/u").await.unwrap().is_none());
}

#[tokio::test]
async fn lazy_registration_while_an_action_runs_fails_precondition() {
    let r = Registry::new();
    let r2 = r.clone();
    let definer: Arc<dyn Action> = ActionDef::builder(ActionType::Flow, "lazy-definer")
        .build(move |_: Value, _cx: ActionCx<()>| {
            let r = r2.clone();
            async move {
                let e = r
                    .register_action_lazy(ActionType::Prompt, "late", async { Ok(echo(ActionType::Prompt, "late")) })
                    .unwrap_err();
                // Child registries (per-call dynamic actions) are fine.
                let child = r.child();
                child
                    .register_action_lazy(ActionType::Prompt, "dyn", async { Ok(echo(ActionType::Prompt, "dyn")) })
                    .unwrap();
                assert!(child.lookup_action("/prompt/dyn").await?.is_some());
                Ok(json!([e.status().as_str(), e.message()]))
            }
        })
        .as_action();
    r.register_action(definer.clone()).unwrap();
    let out = definer.run_json(json!(null), RunOptions::new()).await.unwrap().result;
    assert_eq!(out[0], "FAILED_PRECONDITION");
    let msg = out[1].as_str().unwrap();
    assert!(msg.starts_with("Cannot define new actions at runtime"), "{msg}");
    assert!(msg.contains("/prompt/late"), "{msg}");
    assert!(r.lookup_action("/prompt/late").await.unwrap().is_none());
    // Outside any action the same registration works.
    r.register_action_lazy(ActionType::Prompt, "late", async { Ok(echo(ActionType::Prompt, "late")) }).unwrap();
    assert!(r.lookup_action("/prompt/late").await.unwrap().is_some());
}

#[tokio::test]
async fn duplicate_keys_log_an_overwrite_error_and_the_last_wins() {
    fn answering(t: ActionType, name: &str, answer: &'static str) -> Arc<dyn Action> {
        ActionDef::builder(t, name)
            .build(move |_: Value, _cx: ActionCx<()>| async move { Ok(json!(answer)) })
            .as_action()
    }
    let (logs, _guard) = crate::testing::LogCapture::start();
    let r = Registry::new();
    r.register_action(answering(ActionType::Flow, "a", "first")).unwrap();
    r.register_action_lazy(ActionType::Prompt, "p", async { Ok(answering(ActionType::Prompt, "p", "first")) }).unwrap();
    assert!(logs.lines_at("ERROR").is_empty(), "{}", logs.text());
    // Ready over ready, lazy over lazy, lazy over ready.
    r.register_action(answering(ActionType::Flow, "a", "second")).unwrap();
    r.register_action_lazy(ActionType::Prompt, "p", async { Ok(answering(ActionType::Prompt, "p", "second")) })
        .unwrap();
    r.register_action_lazy(ActionType::Flow, "a", async { Ok(answering(ActionType::Flow, "a", "third")) }).unwrap();
    let errors = logs.lines_at("ERROR");
    assert_eq!(errors.len(), 3, "{}", logs.text());
    for (line, key) in errors.iter().zip(["/flow/a", "/prompt/p", "/flow/a"]) {
        assert!(line.ends_with(&format!("{key} already has an entry in the registry. Overwriting.")), "{line}");
    }
    let run = |key: &'static str| {
        let r = r.clone();
        async move { r.require_action(key).await.unwrap().run_json(json!(null), RunOptions::new()).await.unwrap().result }
    };
    assert_eq!(run("/flow/a").await, json!("third"));
    assert_eq!(run("/prompt/p").await, json!("second"));
    // Resolving a lazy entry replaces it in place: not a duplicate.
    assert_eq!(logs.lines_at("ERROR").len(), 3, "{}", logs.text());
}

struct Lister {
    name: &'static str,
    list: fn() -> Result<Vec<ActionMetadata>>,
}

impl Plugin for Lister {
    fn name(&self) -> &str {
        self.name
    }
    async fn list(&self) -> Result<Vec<ActionMetadata>> {
        (self.list)()
    }
}

#[tokio::test]
async fn resolvable_listing_skips_failing_plugins_and_invalid_lists_whole() {
    let (logs, _guard) = crate::testing::LogCapture::start();
    let r = Registry::new();
    r.register_plugin(Arc::new(Lister {
        name: "down",
        list: || Err(Error::new(Status::Unavailable, "list API down")),
    }))
    .unwrap();
    r.register_plugin(Arc::new(Lister {
        name: "sloppy",
        list: || {
            Ok(vec![
                ActionMetadata::new(ActionType::Model, "fine"),
                ActionMetadata::new(ActionType::Model, ""),
                ActionMetadata::new(ActionType::Model, "also-fine"),
            ])
        },
    }))
    .unwrap();
    r.register_plugin(Arc::new(Lister {
        name: "good",
        list: || {
            Ok(vec![ActionMetadata::new(ActionType::Model, "m"), ActionMetadata::new(ActionType::Embedder, "good/e")])
        },
    }))
    .unwrap();
    r.register_action(echo(ActionType::Flow, "f")).unwrap();
    let listed = r.list_resolvable_actions().await.unwrap();
    let keys: Vec<&str> = listed.keys().map(String::as_str).collect();
    assert_eq!(keys, vec!["/embedder/good/e", "/flow/f", "/model/good/m"]);
    let errors = logs.lines_at("ERROR");
    assert_eq!(errors.len(), 2, "{}", logs.text());
    let down = errors.iter().find(|l| l.contains("Error listing actions for down")).unwrap();
    assert!(down.contains("UNAVAILABLE: list API down"), "{down}");
    let sloppy = errors.iter().find(|l| l.contains("Error listing actions for sloppy")).unwrap();
    assert!(
        sloppy.contains("INVALID_ARGUMENT: Invalid metadata when listing actions from sloppy - name required"),
        "{sloppy}"
    );
}

#[tokio::test]
async fn a_child_registry_gets_ambient_context_but_not_the_base_context() {
    let parent = Registry::with_parts(
        ActionContext::new().with("base", json!(1)).with("who", json!("registry")),
        Arc::new(crate::Telemetry::new()),
    );
    let child = parent.child();
    assert!(child.context().is_empty());
    // Registered only in the child, like the dynamic tools of one generate call.
    let dynamic: ActionDef<(), Value> = ActionDef::builder(ActionType::Tool, "dynamic")
        .build(|_: (), cx: ActionCx<()>| async move { Ok(Value::Object(cx.context().as_map().clone())) });
    child.register_action(dynamic.as_action()).unwrap();
    // A parent action calling it; it sees the base context itself.
    let d2 = dynamic.clone();
    let outer: ActionDef<(), Value> =
        ActionDef::builder(ActionType::Flow, "outer").build(move |_: (), cx: ActionCx<()>| {
            let d = d2.clone();
            async move { Ok(json!({"outer": cx.context().as_map(), "dynamic": d.run(()).await?})) }
        });
    parent.register_action(outer.as_action()).unwrap();

    // Run directly without context: no base context.
    assert_eq!(dynamic.run(()).await.unwrap(), json!({}));
    // Inside a parent action without explicit context: still nothing to inherit.
    let r = outer.run(()).await.unwrap();
    assert_eq!(r["outer"], json!({"base": 1, "who": "registry"}));
    assert_eq!(r["dynamic"], json!({}));
    // Inside a parent action given explicit context: the ambient context (only that).
    let caller = ActionContext::new().with("who", json!("caller"));
    let r = outer.run_with((), RunOptions::new().context(caller)).await.unwrap().result;
    assert_eq!(r["outer"], json!({"base": 1, "who": "caller"}));
    assert_eq!(r["dynamic"], json!({"who": "caller"}));
}

#[tokio::test]
async fn value_lookups_initialize_the_plugin_named_by_a_four_token_key() {
    let (r, inits, _) = counting();
    // Fewer than four `/`-tokens: no plugin initialized.
    for key in ["cnt", "cnt/x", "/cnt/x", "/x/cnt", "x/cnt/"] {
        assert!(r.lookup_value("middleware", key).await.unwrap().is_none(), "{key}");
    }
    // Four or more, but token 2 is no registered plugin.
    assert!(r.lookup_value("middleware", "/x/other/y").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    // Token 2 names the plugin: it is initialized (once), also through a child registry.
    assert!(r.child().lookup_value("middleware", "/x/cnt/y").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(r.lookup_value("middleware", "/x/cnt/z").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    // The rule is JS `parsePluginName`'s: token 2 of any key with four or more tokens.
    let (r, inits, _) = counting();
    assert!(r.lookup_value("middleware", "x/y/cnt/z").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 1);

    // A value already present is returned without initializing the plugin (as JS).
    let (r, inits, _) = counting();
    r.register_value("format", "/f/cnt/x", RegistryValue::new(1u8));
    assert!(r.lookup_value("format", "/f/cnt/x").await.unwrap().is_some());
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    // Listing values initializes every plugin.
    assert!(r.list_values("middleware").await.unwrap().is_empty());
    assert_eq!(inits.load(Ordering::SeqCst), 1);
}

struct Valued {
    name: &'static str,
    inits: Arc<AtomicUsize>,
}

impl Plugin for Valued {
    fn name(&self) -> &str {
        self.name
    }
    async fn init(&self) -> Result<Vec<Arc<dyn Action>>> {
        self.inits.fetch_add(1, Ordering::SeqCst);
        Ok(vec![echo(ActionType::Model, "m")])
    }
    async fn values(&self) -> Result<Vec<PluginValue>> {
        Ok(vec![
            PluginValue::new("middleware", "retry", RegistryValue::with_json(7u32, json!({"name": "retry"}))),
            PluginValue::new("middleware", format!("/middleware/{}/own", self.name), RegistryValue::new("own")),
            PluginValue::new("format", "csv", RegistryValue::new("csv")),
        ])
    }
}

#[tokio::test]
async fn plugin_values_are_registered_when_the_plugin_initializes() {
    let inits = Arc::new(AtomicUsize::new(0));
    let r = Registry::new();
    r.register_plugin(Arc::new(Valued { name: "vals", inits: inits.clone() })).unwrap();
    // Not before initialization.
    assert!(r.lookup_value("middleware", "retry").await.unwrap().is_none());
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    // A plugin-namespaced key initializes the plugin, which registers all its values.
    let own = r.lookup_value("middleware", "/middleware/vals/own").await.unwrap().unwrap();
    assert_eq!(*own.downcast::<&str>().unwrap(), "own");
    let retry = r.lookup_value("middleware", "retry").await.unwrap().unwrap();
    assert_eq!(*retry.downcast::<u32>().unwrap(), 7);
    assert_eq!(retry.json(), Some(&json!({"name": "retry"})));
    assert!(r.child().lookup_value("format", "csv").await.unwrap().is_some());
    // Together with init's actions, once.
    assert!(r.lookup_action("/model/vals/m").await.unwrap().is_some());
    r.initialize_all_plugins().await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1);

    // Listing values initializes plugins, so a fresh registry lists them too.
    let r = Registry::new();
    r.register_plugin(Arc::new(Valued { name: "vals", inits: Arc::new(AtomicUsize::new(0)) })).unwrap();
    let names: Vec<String> = r.list_values("middleware").await.unwrap().into_keys().collect();
    assert_eq!(names, vec!["/middleware/vals/own", "retry"]);

    // A values() error fails the initialization like an init() error.
    struct BadValues;
    impl Plugin for BadValues {
        fn name(&self) -> &str {
            "badvals"
        }
        async fn values(&self) -> Result<Vec<PluginValue>> {
            Err(Error::new(Status::FailedPrecondition, "no config"))
        }
    }
    let r = Registry::new();
    r.register_plugin(Arc::new(BadValues)).unwrap();
    let e = r.list_values("middleware").await.unwrap_err();
    assert_eq!(e.status(), Status::FailedPrecondition);
    assert!(e.message().contains("initializing plugin 'badvals' failed: no config"), "{}", e.message());
}

#[tokio::test]
async fn added_plugins_register_their_values_at_once_and_initialize_lazily() {
    let inits = Arc::new(AtomicUsize::new(0));
    let r = Registry::new();
    r.add_plugin(Arc::new(Valued { name: "vals", inits: inits.clone() })).await.unwrap();
    // Plain names are found right away (JS registers plugin middlewares at `genkit()`)…
    let retry = r.lookup_value("middleware", "retry").await.unwrap().unwrap();
    assert_eq!(*retry.downcast::<u32>().unwrap(), 7);
    // …without initializing the plugin.
    assert_eq!(inits.load(Ordering::SeqCst), 0);
    // The actions still come when the plugin initializes.
    r.initialize_all_plugins().await.unwrap();
    assert_eq!(inits.load(Ordering::SeqCst), 1);
    assert!(r.lookup_action("/model/vals/m").await.unwrap().is_some());
    // A duplicate name is refused before anything is registered.
    let e = r.add_plugin(Arc::new(Valued { name: "vals", inits })).await.unwrap_err();
    assert_eq!(e.status(), Status::AlreadyExists);
}
