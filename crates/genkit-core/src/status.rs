//! Genkit status codes (`StatusName`), their numeric codes and HTTP mappings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Genkit status: the canonical gRPC-style code carried by every [`crate::Error`].
///
/// Serializes as the Genkit `StatusName` string (`"INVALID_ARGUMENT"`, …).
///
/// ```
/// use genkit_core::Status;
/// assert_eq!(Status::NotFound.http_status(), 404);
/// assert_eq!(Status::NotFound.as_str(), "NOT_FOUND");
/// assert_eq!("UNAVAILABLE".parse::<Status>().unwrap().code(), 14);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Not an error.
    Ok,
    /// The operation was cancelled, typically by the caller.
    Cancelled,
    /// Unknown error.
    Unknown,
    /// The client specified an invalid argument.
    InvalidArgument,
    /// The deadline expired before the operation could complete.
    DeadlineExceeded,
    /// Some requested entity was not found.
    NotFound,
    /// The entity that a client attempted to create already exists.
    AlreadyExists,
    /// The caller does not have permission.
    PermissionDenied,
    /// The request does not have valid authentication credentials.
    Unauthenticated,
    /// Some resource has been exhausted (rate limits, quota).
    ResourceExhausted,
    /// The system is not in a state required for the operation.
    FailedPrecondition,
    /// The operation was aborted.
    Aborted,
    /// The operation was attempted past the valid range.
    OutOfRange,
    /// The operation is not implemented or supported.
    Unimplemented,
    /// Internal error.
    Internal,
    /// The service is currently unavailable.
    Unavailable,
    /// Unrecoverable data loss or corruption.
    DataLoss,
}

impl Status {
    /// Every status, in code order.
    pub const ALL: [Status; 17] = [
        Status::Ok,
        Status::Cancelled,
        Status::Unknown,
        Status::InvalidArgument,
        Status::DeadlineExceeded,
        Status::NotFound,
        Status::AlreadyExists,
        Status::PermissionDenied,
        Status::ResourceExhausted,
        Status::FailedPrecondition,
        Status::Aborted,
        Status::OutOfRange,
        Status::Unimplemented,
        Status::Internal,
        Status::Unavailable,
        Status::DataLoss,
        Status::Unauthenticated,
    ];

    /// The wire name, e.g. `"INVALID_ARGUMENT"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Cancelled => "CANCELLED",
            Status::Unknown => "UNKNOWN",
            Status::InvalidArgument => "INVALID_ARGUMENT",
            Status::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Status::NotFound => "NOT_FOUND",
            Status::AlreadyExists => "ALREADY_EXISTS",
            Status::PermissionDenied => "PERMISSION_DENIED",
            Status::Unauthenticated => "UNAUTHENTICATED",
            Status::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Status::FailedPrecondition => "FAILED_PRECONDITION",
            Status::Aborted => "ABORTED",
            Status::OutOfRange => "OUT_OF_RANGE",
            Status::Unimplemented => "UNIMPLEMENTED",
            Status::Internal => "INTERNAL",
            Status::Unavailable => "UNAVAILABLE",
            Status::DataLoss => "DATA_LOSS",
        }
    }

    /// The numeric (gRPC) code, e.g. 3 for `INVALID_ARGUMENT`.
    pub const fn code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Cancelled => 1,
            Status::Unknown => 2,
            Status::InvalidArgument => 3,
            Status::DeadlineExceeded => 4,
            Status::NotFound => 5,
            Status::AlreadyExists => 6,
            Status::PermissionDenied => 7,
            Status::ResourceExhausted => 8,
            Status::FailedPrecondition => 9,
            Status::Aborted => 10,
            Status::OutOfRange => 11,
            Status::Unimplemented => 12,
            Status::Internal => 13,
            Status::Unavailable => 14,
            Status::DataLoss => 15,
            Status::Unauthenticated => 16,
        }
    }

    /// The status for a numeric code, if it is one of the 17 known codes.
    pub fn from_code(code: i32) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The HTTP status Genkit servers answer with for this status.
    pub const fn http_status(self) -> u16 {
        match self {
            Status::Ok => 200,
            Status::Cancelled => 499,
            Status::Unknown => 500,
            Status::InvalidArgument => 400,
            Status::DeadlineExceeded => 504,
            Status::NotFound => 404,
            Status::AlreadyExists => 409,
            Status::PermissionDenied => 403,
            Status::Unauthenticated => 401,
            Status::ResourceExhausted => 429,
            Status::FailedPrecondition => 400,
            Status::Aborted => 409,
            Status::OutOfRange => 400,
            Status::Unimplemented => 501,
            Status::Internal => 500,
            Status::Unavailable => 503,
            Status::DataLoss => 500,
        }
    }

    /// The Genkit status for an HTTP status a server answered with: the one table every
    /// provider plugin and the flow client use.
    ///
    /// Genkit JS maps only 400, 429, 499, 500 and 503 (in its provider plugins); the rows for
    /// 400, 429, 499 and 503 match it. A 500 is `UNAVAILABLE` here, as every 5xx a provider
    /// answers: a transient failure worth a retry (a Genkit server's own errors carry their
    /// status in the body, which the flow client reads first). The other rows follow Google's HTTP mapping of the canonical codes and the
    /// inverse of [`Status::http_status`] where one exists, so that a status survives a trip
    /// through a Genkit server:
    ///
    /// | HTTP | status | why |
    /// |---|---|---|
    /// | 2xx | `OK` | |
    /// | 400 | `INVALID_ARGUMENT` | as JS |
    /// | 401 | `UNAUTHENTICATED` | missing or bad credentials |
    /// | 402 | `FAILED_PRECONDITION` | billing: the account must change before a retry helps |
    /// | 403 | `PERMISSION_DENIED` | |
    /// | 404 | `NOT_FOUND` | |
    /// | 408 | `DEADLINE_EXCEEDED` | the server gave up waiting for the request |
    /// | 409 | `ABORTED` | a conflict, usually concurrency; retryable, unlike `ALREADY_EXISTS` |
    /// | 410 | `NOT_FOUND` | gone for good (a retired model, an expired file) |
    /// | 412 | `FAILED_PRECONDITION` | |
    /// | 413 | `INVALID_ARGUMENT` | the request is too large: retrying the same one cannot help (a Genkit server answers 413 with `INVALID_ARGUMENT`) |
    /// | 416 | `OUT_OF_RANGE` | |
    /// | 422 | `INVALID_ARGUMENT` | a request that parsed but does not validate |
    /// | 429 | `RESOURCE_EXHAUSTED` | as JS: rate limits and quotas |
    /// | 499 | `CANCELLED` | as JS |
    /// | other 4xx | `INVALID_ARGUMENT` | the request must change (405, 414, 415, 431, …) |
    /// | 501 | `UNIMPLEMENTED` | |
    /// | 503 | `UNAVAILABLE` | as JS |
    /// | 504 | `DEADLINE_EXCEEDED` | |
    /// | other 5xx | `UNAVAILABLE` | 500, 502 from a proxy, 529 overloaded, …: transient, worth a retry |
    /// | anything else | `UNKNOWN` | 1xx, 3xx and codes outside 100–599 |
    ///
    /// ```
    /// use genkit_core::Status;
    /// assert_eq!(Status::from_http(429), Status::ResourceExhausted);
    /// assert_eq!(Status::from_http(502), Status::Unavailable);
    /// assert_eq!(Status::from_http(Status::NotFound.http_status()), Status::NotFound);
    /// ```
    pub const fn from_http(code: u16) -> Status {
        match code {
            200..=299 => Status::Ok,
            400..=499 => match code {
                401 => Status::Unauthenticated,
                402 | 412 => Status::FailedPrecondition,
                403 => Status::PermissionDenied,
                404 | 410 => Status::NotFound,
                408 => Status::DeadlineExceeded,
                409 => Status::Aborted,
                416 => Status::OutOfRange,
                429 => Status::ResourceExhausted,
                499 => Status::Cancelled,
                _ => Status::InvalidArgument,
            },
            500..=599 => match code {
                501 => Status::Unimplemented,
                504 => Status::DeadlineExceeded,
                _ => Status::Unavailable,
            },
            _ => Status::Unknown,
        }
    }

    /// Whether a failed call with this status is worth retrying (the default set of the
    /// Genkit retry middleware: `UNAVAILABLE`, `DEADLINE_EXCEEDED`, `RESOURCE_EXHAUSTED`,
    /// `ABORTED`, `INTERNAL`).
    pub const fn is_retryable(self) -> bool {
        matches!(
            self,
            Status::Unavailable
                | Status::DeadlineExceeded
                | Status::ResourceExhausted
                | Status::Aborted
                | Status::Internal
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Error returned when parsing an unknown status name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown Genkit status name '{}'", self.0)
    }
}

impl std::error::Error for UnknownStatus {}

impl From<UnknownStatus> for crate::Error {
    /// `INVALID_ARGUMENT` with the unknown name, so `"X".parse::<Status>()?` works in code
    /// returning a Genkit `Result`.
    fn from(e: UnknownStatus) -> Self {
        crate::Error::invalid_argument(e.to_string())
    }
}

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = std::borrow::Cow::<'de, str>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_spec_a20() {
        let expected = [
            ("OK", 0, 200),
            ("CANCELLED", 1, 499),
            ("UNKNOWN", 2, 500),
            ("INVALID_ARGUMENT", 3, 400),
            ("DEADLINE_EXCEEDED", 4, 504),
            ("NOT_FOUND", 5, 404),
            ("ALREADY_EXISTS", 6, 409),
            ("PERMISSION_DENIED", 7, 403),
            ("RESOURCE_EXHAUSTED", 8, 429),
            ("FAILED_PRECONDITION", 9, 400),
            ("ABORTED", 10, 409),
            ("OUT_OF_RANGE", 11, 400),
            ("UNIMPLEMENTED", 12, 501),
            ("INTERNAL", 13, 500),
            ("UNAVAILABLE", 14, 503),
            ("DATA_LOSS", 15, 500),
            ("UNAUTHENTICATED", 16, 401),
        ];
        for (name, code, http) in expected {
            let s: Status = name.parse().unwrap();
            assert_eq!(s.as_str(), name);
            assert_eq!(s.code(), code, "{name}");
            assert_eq!(s.http_status(), http, "{name}");
            assert_eq!(Status::from_code(code), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(name));
        }
        assert!("NOPE".parse::<Status>().is_err());
        assert!(Status::from_code(17).is_none());
    }

    fn http(code: u16) -> &'static str {
        Status::from_http(code).as_str()
    }

    #[test]
    fn http_2xx_is_ok() {
        assert_eq!((http(200), http(204), http(299)), ("OK", "OK", "OK"));
    }

    #[test]
    fn http_400_is_invalid_argument() {
        assert_eq!(http(400), "INVALID_ARGUMENT");
    }

    #[test]
    fn http_401_is_unauthenticated() {
        assert_eq!(http(401), "UNAUTHENTICATED");
    }

    #[test]
    fn http_402_is_failed_precondition() {
        assert_eq!(http(402), "FAILED_PRECONDITION");
    }

    #[test]
    fn http_403_is_permission_denied() {
        assert_eq!(http(403), "PERMISSION_DENIED");
    }

    #[test]
    fn http_404_is_not_found() {
        assert_eq!(http(404), "NOT_FOUND");
    }

    #[test]
    fn http_408_is_deadline_exceeded() {
        assert_eq!(http(408), "DEADLINE_EXCEEDED");
    }

    #[test]
    fn http_409_is_aborted() {
        assert_eq!(http(409), "ABORTED");
    }

    #[test]
    fn http_410_is_not_found() {
        assert_eq!(http(410), "NOT_FOUND");
    }

    #[test]
    fn http_412_is_failed_precondition() {
        assert_eq!(http(412), "FAILED_PRECONDITION");
    }

    #[test]
    fn http_413_is_invalid_argument() {
        assert_eq!(http(413), "INVALID_ARGUMENT");
    }

    #[test]
    fn http_416_is_out_of_range() {
        assert_eq!(http(416), "OUT_OF_RANGE");
    }

    #[test]
    fn http_422_is_invalid_argument() {
        assert_eq!(http(422), "INVALID_ARGUMENT");
    }

    #[test]
    fn http_429_is_resource_exhausted() {
        assert_eq!(http(429), "RESOURCE_EXHAUSTED");
    }

    #[test]
    fn http_499_is_cancelled() {
        assert_eq!(http(499), "CANCELLED");
    }

    #[test]
    fn other_http_4xx_are_invalid_argument() {
        for code in [405, 406, 411, 414, 415, 418, 431, 451] {
            assert_eq!(http(code), "INVALID_ARGUMENT", "{code}");
        }
    }

    #[test]
    fn http_500_is_unavailable() {
        assert_eq!(http(500), "UNAVAILABLE");
    }

    #[test]
    fn http_501_is_unimplemented() {
        assert_eq!(http(501), "UNIMPLEMENTED");
    }

    #[test]
    fn http_503_is_unavailable() {
        assert_eq!(http(503), "UNAVAILABLE");
    }

    #[test]
    fn http_504_is_deadline_exceeded() {
        assert_eq!(http(504), "DEADLINE_EXCEEDED");
    }

    #[test]
    fn other_http_5xx_are_unavailable() {
        for code in [502, 505, 507, 520, 529, 599] {
            assert_eq!(http(code), "UNAVAILABLE", "{code}");
        }
    }

    #[test]
    fn other_http_codes_are_unknown() {
        for code in [0, 99, 100, 101, 199, 300, 301, 304, 399, 600, 999, u16::MAX] {
            assert_eq!(http(code), "UNKNOWN", "{code}");
        }
    }

    #[test]
    fn http_statuses_genkit_servers_send_map_back() {
        // 500 (INTERNAL, UNKNOWN, DATA_LOSS) is read as a transient UNAVAILABLE.
        for s in Status::ALL.into_iter().filter(|s| s.http_status() != 500) {
            let back = Status::from_http(s.http_status());
            assert_eq!(back.http_status(), s.http_status(), "{s}");
        }
    }
}
