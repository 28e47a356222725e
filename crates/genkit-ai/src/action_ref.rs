//! What the retrieval and evaluation kinds (retriever, indexer, reranker, evaluator) share on
//! the calling side: one shape for each kind's typed reference (`<Kind>Ref`) and call argument
//! (`<Kind>Arg`), merging a reference's default options under the call's, finding an action by
//! name, and calling it.

use std::sync::Arc;

use genkit_core::{Action, ActionDef, Error, Registry, Result, RunOptions, Status};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Defines a kind's reference type and call argument type.
///
/// `action_ref!("retriever", RetrieverRef, RetrieverArg, Retriever, "devLocalVectorstore/facts")`
/// defines `RetrieverRef` (a name with default options) and `RetrieverArg` (a name, a
/// `RetrieverRef` or a `Retriever` handle, built with `From`), documented with that example name.
macro_rules! action_ref {
    ($kind:literal, $Ref:ident, $Arg:ident, $Handle:ident, $example:literal) => {
        #[doc = concat!("A ", $kind, " by name with default options (JS `", $kind, "Ref`). Cheap to clone.")]
        ///
        /// The call's options are merged over the default options key by key (both JSON
        /// objects; otherwise the call's options, when given, replace them).
        ///
        /// ```
        #[doc = concat!("use genkit_ai::", $kind, "::", stringify!($Ref), ";")]
        #[doc = concat!("let r = ", stringify!($Ref), "::new(\"", $example, "\").with_config(serde_json::json!({\"k\": 3}));")]
        #[doc = concat!("assert_eq!(r.name(), \"", $example, "\");")]
        /// assert_eq!(r.config().unwrap()["k"], 3);
        /// ```
        #[derive(Debug, Clone, PartialEq)]
        pub struct $Ref {
            name: String,
            config: Option<serde_json::Value>,
        }

        impl $Ref {
            #[doc = concat!("A reference to the ", $kind, " `name`.")]
            pub fn new(name: impl Into<String>) -> Self {
                $Ref { name: name.into(), config: None }
            }

            /// A copy with these default options (JS `withConfig`).
            #[must_use]
            pub fn with_config(mut self, config: serde_json::Value) -> Self {
                self.config = Some(config);
                self
            }

            #[doc = concat!("The full ", $kind, " name.")]
            pub fn name(&self) -> &str {
                &self.name
            }

            /// The default options.
            pub fn config(&self) -> Option<&serde_json::Value> {
                self.config.as_ref()
            }
        }

        impl From<&str> for $Ref {
            fn from(name: &str) -> Self {
                $Ref::new(name)
            }
        }

        impl From<String> for $Ref {
            fn from(name: String) -> Self {
                $Ref::new(name)
            }
        }

        #[doc = concat!("Which ", $kind, " to call: a registered name, a [`", stringify!($Ref), "`] or a [`",
                        stringify!($Handle), "`] handle; built with `From` from any of them.")]
        #[derive(Debug, Clone)]
        pub enum $Arg {
            #[doc = concat!("A registered ", $kind, "'s name, e.g. `\"", $example, "\"`.")]
            Name(String),
            /// A reference: a registered name with default options.
            Ref($Ref),
            /// A handle, called directly (in the registry it was registered in, if any).
            Handle($Handle),
        }

        impl $Arg {
            #[doc = concat!("The ", $kind, "'s name.")]
            pub fn name(&self) -> &str {
                match self {
                    $Arg::Name(n) => n,
                    $Arg::Ref(r) => r.name(),
                    $Arg::Handle(h) => h.name(),
                }
            }

            /// The default options (a reference's).
            pub fn config(&self) -> Option<&serde_json::Value> {
                match self {
                    $Arg::Ref(r) => r.config(),
                    $Arg::Name(_) | $Arg::Handle(_) => None,
                }
            }
        }

        impl From<&str> for $Arg {
            fn from(name: &str) -> Self {
                $Arg::Name(name.to_owned())
            }
        }

        impl From<String> for $Arg {
            fn from(name: String) -> Self {
                $Arg::Name(name)
            }
        }

        impl From<&String> for $Arg {
            fn from(name: &String) -> Self {
                $Arg::Name(name.clone())
            }
        }

        impl From<$Ref> for $Arg {
            fn from(r: $Ref) -> Self {
                $Arg::Ref(r)
            }
        }

        impl From<&$Ref> for $Arg {
            fn from(r: &$Ref) -> Self {
                $Arg::Ref(r.clone())
            }
        }

        impl From<$Handle> for $Arg {
            fn from(h: $Handle) -> Self {
                $Arg::Handle(h)
            }
        }

        impl From<&$Handle> for $Arg {
            fn from(h: &$Handle) -> Self {
                $Arg::Handle(h.clone())
            }
        }
    };
}

pub(crate) use action_ref;

/// The options a call sends: the reference's default options with the call's merged over them
/// key by key (`{...ref.config, ...options}`). When either is not a JSON object, the call's
/// options win if given.
pub(crate) fn merge_options(defaults: Option<&Value>, options: Option<Value>) -> Option<Value> {
    match (defaults, options) {
        (None, options) => options,
        (Some(d), None) => Some(d.clone()),
        (Some(Value::Object(d)), Some(Value::Object(o))) => {
            let mut merged = d.clone();
            merged.extend(o);
            Some(Value::Object(merged))
        }
        (Some(_), Some(o)) => Some(o),
    }
}

/// The registered action `/<kind>/<name>`.
///
/// # Errors
/// `NOT_FOUND` `<unable>: /<kind>/<name> not found`.
pub(crate) async fn lookup(registry: &Registry, kind: &str, name: &str, unable: &str) -> Result<Arc<dyn Action>> {
    registry
        .lookup_action(&format!("/{kind}/{name}"))
        .await?
        .ok_or_else(|| Error::new(Status::NotFound, format!("{unable}: /{kind}/{name} not found")))
}

/// Runs a looked-up action: typed when it is an `ActionDef<I, O>` (no JSON round trip),
/// otherwise through JSON, with `invalid` describing an output that does not parse.
pub(crate) async fn call<I, O>(
    action: &dyn Action,
    req: I,
    invalid: impl FnOnce(serde_json::Error) -> Error,
) -> Result<O>
where
    I: Serialize + DeserializeOwned + Send + Sync + 'static,
    O: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    if let Some(typed) = action.as_any().downcast_ref::<ActionDef<I, O>>() {
        return typed.run(req).await;
    }
    let out = action.run_json(serde_json::to_value(req).map_err(Error::internal)?, RunOptions::default()).await?;
    serde_json::from_value(out.result).map_err(invalid)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::merge_options;

    #[test]
    fn call_options_merge_over_reference_defaults_key_by_key() {
        let d = json!({"k": 3, "filter": "a"});
        assert_eq!(merge_options(Some(&d), Some(json!({"k": 5}))), Some(json!({"k": 5, "filter": "a"})));
        assert_eq!(merge_options(Some(&d), None), Some(d.clone()));
        assert_eq!(merge_options(None, Some(json!({"k": 1}))), Some(json!({"k": 1})));
        assert_eq!(merge_options(None, None), None);
        assert_eq!(merge_options(Some(&json!(1)), Some(json!({"k": 1}))), Some(json!({"k": 1})));
    }
}
