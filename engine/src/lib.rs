//! Ringback's domain: GMS-style configuration, service templates, the embedded store,
//! access-number resources, pattern groups and phone-number analysis. No HTTP here: the `web`
//! crate maps these types to the GMS REST API.
//!
//! Time is a parameter wherever behaviour depends on it (bookings, storage TTLs), so the rules
//! are tested with a clock the test controls.

pub mod agents;
pub mod calendar;
pub mod callback;
pub mod capacity;
pub mod config;
pub mod cs;
pub mod features;
pub mod patterns;
pub mod phone;
pub mod platform;
pub mod queue;
pub mod reporting;
pub mod resources;
pub mod routing;
pub mod service_options;
pub mod store;
pub mod telephony;
pub mod templates;
pub mod users;
