//! Carta's storage: PostgreSQL through diesel + diesel-async. Row structs stay private to this crate
//! and convert to domain types at its edge.

pub mod admin;
pub mod audit;
pub mod credentials;
pub mod editing;
mod error;
pub mod federation;
pub mod feed;
pub mod opinion;
pub mod pool;
pub mod reads;
pub mod reference_writes;
mod rows;
pub mod schema;
pub mod search;
pub mod seed;
pub mod seed_data;
pub mod webhooks;
pub mod writes;

pub use error::StoreError;
pub use pool::{DbPool, PoolSettings};
