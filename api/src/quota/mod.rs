//! Quotas for members, teams and territories over fiscal months, quarters and years, with ramps
//! for new reps, top-down allocation and attainment from credited deals, points, activities or
//! KPIs that rolls up through the team and territory trees.

pub mod graphql;
pub mod model;
pub mod policy;
pub mod service;
pub mod store;
