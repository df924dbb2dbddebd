//! Carta's catalogue: the Carta de Serviços ao Usuário (Lei 13.460/2017 art. 7) as types and rules.
//! No I/O lives here: storage and HTTP build on these types.

pub mod access;
pub mod audit;
pub mod checklist;
pub mod feed;
pub mod feedback;
pub mod near;
pub mod organization;
pub mod place;
pub mod query;
pub mod reference;
pub mod revision;
pub mod search;
pub mod service;
pub mod taxonomy;
pub mod validation;
pub mod workflow;
