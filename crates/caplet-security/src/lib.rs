//! Caplet's hostile-guest suite. This crate has no code: its integration tests (`tests/all`)
//! turn the rows of the hostile-guests catalogue (A: CPU and time, B: memory, C: stack,
//! D: faults, E: artifacts and policy, F: hot swap and lifecycle) into tests that run in CI,
//! one test per row, each documented with its row id. docs/security.md maps rows to tests.
