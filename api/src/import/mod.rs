//! Bulk import: deals and activities from CSV files sent with the GraphQL
//! multipart request spec, upserted by `externalId`, streamed row by row from the uploaded
//! file (which async-graphql keeps in a temporary file, not in memory).

pub mod graphql;
pub mod policy;
pub mod service;
