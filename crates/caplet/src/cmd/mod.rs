//! One module per subcommand.

pub mod call;
pub mod claims;
pub mod ctl;
pub mod dev;
pub mod invoke;
pub mod keys;
pub mod run_opts;
pub mod up;
