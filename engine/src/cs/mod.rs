//! Context Services: customer journeys — *services* that hold *states* and *tasks*, each
//! started and completed by events — and the customer *profiles* they belong to, with their
//! extension schemas and identification keys; what GMS 8.5 serves at `/genesys/1/cs` and UCS
//! at `/genesys/1/cs/profiles` (reference: `context-services.md`). Ringback serves both from
//! its own store.
//!
//! Sans-IO rules live in the submodules (`model`: the records and their checks, `business`:
//! business attributes, `profiles`: profiles, schemas and the identification rule,
//! `settings`: `[cview]`); [`ContextServices`] is the facade the web layer and the callback
//! service call, with time passed in and every change durable before it returns.
//!
//! Extensions (attached data, profile extensions) are schema-less JSON the client owns: they
//! are kept as `serde_json::Value`, as data rather than a request shape.

pub mod business;
pub mod callbacks;
mod facade;
pub mod model;
pub mod profiles;
pub mod settings;

pub use facade::{ContextServices, End, StartItem, StartService, Target, AUTO_COMPLETED};
pub use model::{
    Counts, Event, EventInput, ExportEvents, ExportQuery, ItemQuery, Owner, PurgeKind, Service,
    ServiceQuery, State, Status, Task, Write,
};

use crate::store::StoreError;

/// Context Services' exception classes (`com.genesyslab.gsg.services.contextservices.exceptions`).
const EXCEPTIONS: &str = "com.genesyslab.gsg.services.contextservices.exceptions.";

/// Why a Context Services request is refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CsError {
    /// An unknown service, state or task: GMS answers 400 with `NotFoundException`
    /// ("There are no service found for : <id>").
    #[error("{0}")]
    NotFound(String),
    /// An unknown profile, extension schema or identification key (UCS: 404).
    #[error("{0}")]
    ProfileNotFound(String),
    /// A body or parameter that cannot be accepted (400).
    #[error("{0}")]
    Invalid(String),
    /// A missing or unknown `ContactCenterId` (400, `ContextServicesExceptionResource`).
    #[error("{0}")]
    Tenant(String),
    /// A profile whose unique identification key another profile already has, or a schema or
    /// key that exists (409).
    #[error("{0}")]
    Conflict(String),
    /// Context Services are off (`[cview] enabled = false`).
    #[error("{0}")]
    Disabled(String),
    /// The store failed (500).
    #[error("the store failed: {0}")]
    Store(#[from] StoreError),
}

impl CsError {
    /// The Java exception class the error body names.
    pub fn exception(&self) -> String {
        let class = match self {
            CsError::NotFound(_) | CsError::ProfileNotFound(_) => "NotFoundException",
            CsError::Invalid(_) => "ContextServicesException",
            CsError::Tenant(_) => "ContextServicesExceptionResource",
            CsError::Conflict(_) => "DuplicateException",
            CsError::Disabled(_) => "ContextServicesDisabledException",
            CsError::Store(_) => "ContextServicesInternalException",
        };
        format!("{EXCEPTIONS}{class}")
    }

    pub(crate) fn invalid(m: impl Into<String>) -> CsError {
        CsError::Invalid(m.into())
    }
}

/// The tenant of single-tenant installations (no `ContactCenterId`).
pub const DEFAULT_TENANT: &str = "";
