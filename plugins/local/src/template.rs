//! Chat templates: the Jinja template a model ships (`tokenizer.chat_template`), rendered with
//! `minijinja`, turning Genkit messages into the model's prompt text.

use genkit_ai::{Message, Part, Role};
use genkit_core::{Error, Result, Status};
use minijinja::{Environment, ErrorKind, Value as JinjaValue, context};

/// ChatML, used when a model has no template of its own.
pub(crate) const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + \
     message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

/// A compiled chat template.
pub(crate) struct ChatTemplate {
    env: Environment<'static>,
    bos: String,
    eos: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate").finish_non_exhaustive()
    }
}

struct TemplateMessage<'a> {
    role: &'a str,
    content: String,
}

fn raise_exception(msg: String) -> std::result::Result<String, minijinja::Error> {
    Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
}

impl ChatTemplate {
    /// Compiles `source` (Hugging Face chat template syntax).
    pub(crate) fn new(source: &str, bos: &str, eos: &str) -> Result<Self> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function("raise_exception", raise_exception);
        env.add_template_owned("chat", source.to_owned())
            .map_err(|e| Error::new(Status::InvalidArgument, format!("the model's chat template is invalid: {e}")))?;
        Ok(ChatTemplate { env, bos: bos.to_owned(), eos: eos.to_owned() })
    }

    /// Renders the conversation, ending with the assistant's turn opened.
    pub(crate) fn render(&self, messages: &[Message]) -> Result<String> {
        let msgs = messages.iter().map(to_template).collect::<Result<Vec<_>>>()?;
        let tmpl = self.env.get_template("chat").map_err(Error::internal)?;
        tmpl.render(context! {
            messages => JinjaValue::from(msgs.into_iter().map(|m| context! { role => m.role, content => m.content }).collect::<Vec<_>>()),
            add_generation_prompt => true,
            bos_token => self.bos.as_str(),
            eos_token => self.eos.as_str(),
        })
        .map_err(|e| Error::new(Status::InvalidArgument, format!("could not apply the chat template: {e}")))
    }
}

fn to_template(m: &Message) -> Result<TemplateMessage<'_>> {
    let role = match m.role {
        Role::System => "system",
        Role::User => "user",
        Role::Model => "assistant",
        Role::Tool => "tool",
    };
    let mut content = String::new();
    for p in &m.content {
        if let Some(t) = &p.text {
            content.push_str(t);
        } else if p.media.is_some() {
            return Err(Error::invalid_argument(
                "this local model reads text only: remove media parts or use a model that supports media",
            ));
        } else if let Some(d) = &p.data {
            content.push_str(&d.to_string());
        } else if let Some(tr) = &p.tool_request {
            // The model's own earlier calls, in the format it is asked to write them in.
            content.push_str(&crate::tools::render_call(&tr.name, tr.input.as_ref()));
        } else if let Some(tr) = &p.tool_response {
            let out = serde_json::json!({"name": tr.name, "result": tr.output});
            content.push_str(&crate::constrain::spaced_json(&out));
        } else if p.reasoning.is_some() || is_pending(p) {
            // Reasoning is not sent back; pending placeholders carry no text.
        }
    }
    Ok(TemplateMessage { role, content })
}

fn is_pending(p: &Part) -> bool {
    p.metadata.as_ref().is_some_and(|m| m.contains_key("pending"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatml_renders_conversation() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let s = t.render(&[Message::system("Be brief."), Message::user("Hi"), Message::model("Hello")]).unwrap();
        assert_eq!(
            s,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n\
             Hello<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn python_methods_and_raise_exception_work() {
        let src = "{% for m in messages %}{{ m['content'].strip() }}{% endfor %}\
                   {% if messages|length > 1 %}{{ raise_exception('one message only') }}{% endif %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        assert_eq!(t.render(&[Message::user("  x  ")]).unwrap(), "x");
        let e = t.render(&[Message::user("a"), Message::user("b")]).unwrap_err();
        assert!(e.message().contains("one message only"), "{e}");
    }

    #[test]
    fn media_is_rejected_with_a_clear_error() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let m = Message::new(Role::User, vec![Part::media("data:image/png;base64,AA==", Some("image/png".into()))]);
        assert!(t.render(&[m]).unwrap_err().message().contains("text only"));
    }

    #[test]
    fn tool_requests_and_responses_are_rendered() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let call = Message::new(
            Role::Model,
            vec![Part::tool_request("weather", Some(serde_json::json!({"city": "Paris"})), Some("call_0".into()))],
        );
        let resp = Message::new(
            Role::Tool,
            vec![Part::tool_response("weather", Some(serde_json::json!("sunny")), Some("call_0".into()))],
        );
        let s = t.render(&[Message::user("Weather?"), call, resp]).unwrap();
        assert!(s.contains(r#"<tool_call>{"name": "weather", "arguments": {"city": "Paris"}}</tool_call>"#), "{s}");
        assert!(s.contains("<|im_start|>tool\n{\"name\": \"weather\", \"result\": \"sunny\"}"), "{s}");
    }
}
