//! The hostile-guest suite: one test per row of the hostile-guests catalogue, each named after
//! the property it proves, with a doc comment starting with the row id. docs/security.md has
//! the table from row to test. Guests are the built test guests (guests/out) and inline WAT.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod a_time;
mod b_memory;
mod c_stack;
mod common;
mod d_faults;
mod e_policy;
mod f_swap;
