//! The GMS REST API (`/genesys/1/...`): routes, request parameters and the GMS error body.

pub mod auth;
pub mod callback;
pub mod callback_panel;
pub mod center;
pub mod cs;
pub mod error;
pub mod login;
pub mod monitor;
pub mod notification;
pub mod openapi;
pub mod ors;
pub mod params;
pub mod reports;
pub mod routes;
pub mod users;
