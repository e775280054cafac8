//! Logging from a guest: `console_log` and the `log!` macro write through the host's
//! `__console_log`, which hosts put in their own log tagged with the actor.
//!
//! Native builds (unit tests) print to stderr instead, so handler tests still show the lines.

/// Sends `message` to the host's log.
pub fn console_log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::ffi::console_log(message);
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("[guest] {message}");
}

/// Formats its arguments like `format!` and sends the text to the host's log.
///
/// ```
/// caplet_guest::log!("stored {} bytes under {:?}", 42, "key");
/// ```
#[macro_export]
macro_rules! log {
    ($($arg:tt)*) => {
        $crate::console_log(&::std::format!($($arg)*))
    };
}
