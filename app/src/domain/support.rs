//! The support console's rules (DESIGN §6), one job to a file: staff roles and what each may do, tasks, the task
//! dashboard's query (read from and written to the URL, so links can be shared and the back button works) and its
//! counts, decisions and their validation, the emails a decision sends, a record compared with a task, a record's
//! history, what the pages show, and the live feed. Plain data and functions, shared by the server and the browser.
//! Everything is re-exported here, so `crate::domain::support::X` names every item.

#[macro_use]
mod named;

mod comparison;
mod counts;
mod decision;
mod email;
mod history;
mod live;
mod query;
mod roles;
mod tasks;
mod views;

pub use comparison::*;
pub use counts::*;
pub use decision::*;
pub use email::*;
pub use history::*;
pub use live::*;
pub use query::*;
pub use roles::*;
pub use tasks::*;
pub use views::*;
