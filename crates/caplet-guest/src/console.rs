//! Logging from a guest: `console_log` and the `log!` macro write through the host's
//! `__console_log`, which hosts put in their own log tagged with the actor.
//!
//! Native builds (unit tests) print to stderr instead, so handler tests still show the lines.

/// Sends `message` to the host's log.
pub fn console_log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::ffi::console_log(message);
    #[cfg(not(target_arch = "wasm32"))]
    {
        #[cfg(test)]
        captured::push(message);
        eprintln!("[guest] {message}");
    }
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

/// The lines this thread logged, so the crate's own tests can check what reached the console.
#[cfg(test)]
pub(crate) mod captured {
    use std::cell::RefCell;

    thread_local! {
        static LINES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    }

    pub(crate) fn push(line: &str) {
        LINES.with(|lines| lines.borrow_mut().push(line.to_owned()));
    }

    /// Returns and forgets the lines logged so far on this thread.
    pub(crate) fn take() -> Vec<String> {
        LINES.with(|lines| std::mem::take(&mut *lines.borrow_mut()))
    }
}
