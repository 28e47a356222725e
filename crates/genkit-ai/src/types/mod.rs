//! Wire types of the model layer, serialized exactly as `genkit-schema.json`: plain serde
//! data with accessors, importing nothing else of the crate (the runtime wrappers around
//! them, such as `GenerateResponse`, live in `generate`).

mod message;
mod model_info;
mod num;
pub(crate) mod part;
mod request;
mod response;

pub(crate) use message::concat_text;
pub use message::{Content, DocumentData, Message, Role};
pub use model_info::{Constrained, GenerationCommonConfig, ModelInfo, ModelReference, ModelStage, ModelSupports};
pub use part::{Media, Part, ResourceRef, ToolRequest, ToolResponse};
pub use request::{
    GenerateActionOptions, GenerateActionOutputConfig, GenerateRequest, Instructions, MiddlewareRef, ModelRequest,
    OutputConfig, Resume, ToolChoice, ToolDefinition,
};
pub use response::{
    Candidate, FinishReason, GenerationUsage, ModelResponse, ModelResponseChunk, MultipartToolResponse, Operation,
    RuntimeError,
};
