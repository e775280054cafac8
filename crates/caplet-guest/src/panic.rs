//! Panic messages for actors: with `panic = "abort"` (the usual release profile) a panic is a
//! trap, and std's default hook writes to a stderr that does not exist in a Wasm module, so the
//! host would only ever see "unreachable". The SDK's hook sends the message and location
//! through `console_log` first, so the host's log says why the actor died.
//!
//! It is installed once, by the first `register`, which every actor calls from `wapc_init`.

use std::panic::PanicHookInfo;
use std::sync::Once;

use crate::console::console_log;

static INSTALL: Once = Once::new();

/// Installs the hook the first time it is called; later calls do nothing.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        // Native builds (an actor's unit tests) keep the default hook as well, so test output
        // and `RUST_BACKTRACE` work as usual; in Wasm it would write nowhere.
        #[cfg(not(target_arch = "wasm32"))]
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            console_log(&describe(info));
            #[cfg(not(target_arch = "wasm32"))]
            previous(info);
        }));
    });
}

/// `panicked at src/lib.rs:10:5: message`, std's wording on one line.
fn describe(info: &PanicHookInfo<'_>) -> String {
    let message = info
        .payload_as_str()
        .unwrap_or("(a panic payload that is not text)");
    match info.location() {
        Some(location) => format!("panicked at {location}: {message}"),
        None => format!("panicked: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::captured;

    #[test]
    fn the_message_and_location_reach_the_console() {
        install_hook();
        install_hook(); // idempotent
        captured::take();
        let line = line!() + 1;
        let result = std::panic::catch_unwind(|| panic!("counter {} overflowed", 7));
        assert!(result.is_err());
        let logged = captured::take();
        let expected = format!("panicked at {}:{line}:", file!());
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(logged[0].starts_with(&expected), "{logged:?}");
        assert!(logged[0].ends_with(": counter 7 overflowed"), "{logged:?}");
    }

    #[test]
    fn register_installs_the_hook() {
        crate::register("panic-test-boom", |_: &[u8]| panic!("boom"));
        captured::take();
        let result = std::panic::catch_unwind(|| crate::invoke("panic-test-boom", b""));
        assert!(result.is_err());
        let logged = captured::take();
        assert!(
            logged.iter().any(|line| line.ends_with(": boom")),
            "{logged:?}"
        );
    }
}
