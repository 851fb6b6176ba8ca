//! One module per page or family of pages.

pub mod feedback;
pub mod info;
pub mod problem;
pub mod start;
