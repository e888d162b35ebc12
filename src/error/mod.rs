//! The one error type of the API. Every failure a client can see is an `ApiError`; the protocol
//! layer turns it into AWS's wire shape (`{"__type": …, "Message": …}` + status) in one place
//! (`protocol::error_response`). Texts follow docs/aws-behaviour.md §4 and §6.4, and live in
//! `messages`.

pub mod messages;

use std::fmt;

/// AWS error codes (`__type`) that secretsd emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    ResourceNotFound,
    InvalidRequest,
    InvalidParameter,
    ResourceExists,
    LimitExceeded,
    InvalidNextToken,
    MalformedPolicyDocument,
    PublicPolicy,
    Validation,
    Serialization,
    UnknownOperation,
    RequestEntityTooLarge,
    RequestTimeout,
    AccessDenied,
    EncryptionFailure,
    DecryptionFailure,
    InternalServiceError,
    // Authentication layer (Coral framework errors, lower-case `message` on the wire).
    MissingAuthenticationToken,
    IncompleteSignature,
    InvalidSignature,
    UnrecognizedClient,
}

impl ErrorCode {
    /// The bare `__type` AWS sends (no `namespace#` prefix, docs/aws-behaviour.md §1.4).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::ResourceNotFound => "ResourceNotFoundException",
            ErrorCode::InvalidRequest => "InvalidRequestException",
            ErrorCode::InvalidParameter => "InvalidParameterException",
            ErrorCode::ResourceExists => "ResourceExistsException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::InvalidNextToken => "InvalidNextTokenException",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            ErrorCode::PublicPolicy => "PublicPolicyException",
            ErrorCode::Validation => "ValidationException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::RequestEntityTooLarge => "RequestEntityTooLargeException",
            ErrorCode::RequestTimeout => "RequestTimeoutException",
            ErrorCode::AccessDenied => "AccessDeniedException",
            ErrorCode::EncryptionFailure => "EncryptionFailure",
            ErrorCode::DecryptionFailure => "DecryptionFailure",
            ErrorCode::InternalServiceError => "InternalServiceError",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::IncompleteSignature => "IncompleteSignatureException",
            ErrorCode::InvalidSignature => "InvalidSignatureException",
            ErrorCode::UnrecognizedClient => "UnrecognizedClientException",
        }
    }

    /// HTTP status: every client error is 400 on this service, even "not found"
    /// (docs/aws-behaviour.md §1.4).
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InternalServiceError => 500,
            ErrorCode::RequestEntityTooLarge => 413,
            ErrorCode::RequestTimeout => 408,
            _ => 400,
        }
    }

    /// Coral's framework errors spell the message key `message`; modeled service errors use
    /// `Message` (docs/aws-behaviour.md §1.4, §6.4). Clients accept both, but tests compare raw
    /// bodies.
    pub fn lowercase_message_key(self) -> bool {
        matches!(
            self,
            ErrorCode::MissingAuthenticationToken
                | ErrorCode::IncompleteSignature
                | ErrorCode::InvalidSignature
                | ErrorCode::UnrecognizedClient
        )
    }
}

/// A failure with AWS's code and literal message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    pub fn secret_not_found() -> Self {
        Self::new(ErrorCode::ResourceNotFound, messages::SECRET_NOT_FOUND)
    }

    pub fn marked_for_deletion() -> Self {
        Self::new(ErrorCode::InvalidRequest, messages::MARKED_FOR_DELETION)
    }

    pub fn invalid_next_token() -> Self {
        Self::new(ErrorCode::InvalidNextToken, messages::INVALID_NEXT_TOKEN)
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, message)
    }

    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Validation, message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Serialization, message)
    }

    /// A fault on our side (disk, corrupt record). Logged in full by the caller; the client
    /// sees a generic text so nothing internal (or secret) leaks.
    pub fn internal(context: impl fmt::Display) -> Self {
        tracing::error!(error = %context, "internal error");
        Self::new(ErrorCode::InternalServiceError, messages::INTERNAL)
    }

    pub fn missing_authentication_token() -> Self {
        Self::new(
            ErrorCode::MissingAuthenticationToken,
            messages::MISSING_AUTHENTICATION_TOKEN,
        )
    }

    pub fn incomplete_signature(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::IncompleteSignature, message)
    }

    pub fn invalid_signature(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidSignature, message)
    }

    pub fn unrecognized_client() -> Self {
        Self::new(ErrorCode::UnrecognizedClient, messages::UNRECOGNIZED_CLIENT)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}
