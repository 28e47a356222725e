//! `toolApproval`: interrupts every call of a tool that is not approved, so the app can ask
//! the user and resume (JS `toolApproval` of `@genkit-ai/middleware`).

use std::sync::OnceLock;

use genkit_ai::Part;
use genkit_ai::middleware::{Middleware, MiddlewareDef, MiddlewareUse, ToolNext};
use genkit_ai::tool::interrupt_error;
use genkit_core::Result;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Options of [`tool_approval`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ToolApprovalOptions {
    /// Tools that run without approval.
    pub approved: Vec<String>,
}

struct ToolApproval(ToolApprovalOptions);

impl Middleware for ToolApproval {
    async fn wrap_tool(&self, req: Part, next: ToolNext<'_>) -> Result<Option<Part>> {
        let name = req.tool_request.as_ref().map(|t| t.name.clone()).unwrap_or_default();
        let approved = self.0.approved.contains(&name)
            || next
                .cx()
                .metadata
                .as_ref()
                .and_then(|m| m.get("resumed"))
                .and_then(|r| r.get("toolApproved"))
                .and_then(Value::as_bool)
                == Some(true);
        if approved {
            return next.run(req).await;
        }
        genkit_core::run(&name, None, async {
            Err::<Option<Part>, _>(interrupt_error(Some(json!({
                "message": format!("Tool not in approved list: {name}")
            }))))
        })
        .await
    }
}

/// The `toolApproval` middleware definition.
pub fn tool_approval_def() -> MiddlewareDef {
    static D: OnceLock<MiddlewareDef> = OnceLock::new();
    D.get_or_init(|| {
        MiddlewareDef::typed(
            "toolApproval",
            "Interrupts calls of tools that are not approved.",
            |o: ToolApprovalOptions, _| Ok(ToolApproval(o)),
        )
    })
    .clone()
}

/// Interrupts every call of a tool not in `approved`: the interrupt's metadata is
/// `{message: "Tool not in approved list: <name>"}`; resume with
/// `restart_tool(interrupt, RestartOptions::new().resumed(json!({"toolApproved": true})))`.
pub fn tool_approval(options: ToolApprovalOptions) -> MiddlewareUse {
    tool_approval_def().with_config(serde_json::to_value(options).ok())
}
