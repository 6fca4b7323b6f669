//! The pages of the tenant console, one file per area.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod collections;
pub mod dashboard;
mod field_input;
pub mod fields;
pub mod import;
pub mod links;
pub mod record_form;
pub mod records;
pub mod roles;
pub mod security;
pub mod session;
pub mod users;
