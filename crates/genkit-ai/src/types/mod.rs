//! Wire types of the model layer, serialized exactly as `genkit-schema.json`.

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
pub(crate) use response::TurnChunks;
pub use response::{
    Candidate, ChunkOrigin, FinishReason, GenerateResponse, GenerateResponseChunk, GenerationUsage, ModelResponse,
    ModelResponseChunk, MultipartToolResponse, Operation, OutputParser, RuntimeError,
};
