//! All server integration tests, in one binary to keep link time down.
//!
//! The storage contract runs against SQLite and PostgreSQL (`TEST_POSTGRES_URL`, which `./test` sets). HTTP tests
//! drive the whole application in-process with `oneshot`.

mod contract;
mod http;
mod journey;
mod onelogin;
mod recovery;
mod support;
