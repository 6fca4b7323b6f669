//! The pages of the tenant console, one file per area.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod audit_checkpoint;
mod audit_detail;
pub mod bulk;
pub mod client_certs;
pub mod collections;
pub mod dashboard;
pub mod export;
pub mod factors;
mod field_input;
pub mod fields;
mod filter_builder;
mod filter_panel;
pub mod import;
pub mod links;
pub mod record_form;
pub mod record_import;
pub mod record_view;
pub mod records;
mod records_table;
pub mod roles;
pub mod security;
pub mod session;
pub mod users;
mod values;
