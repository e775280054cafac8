//! How `caplet dev` builds the watched actor: a user-given shell command, or cargo through the
//! repository's toolchain routes (rustup's wasm32 target when installed, else Debian's offline
//! route, as scripts/build-guests.sh does).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::bail;

/// The wasm target every actor builds for.
pub(super) const TARGET: &str = "wasm32-unknown-unknown";
/// The linker of Debian's offline route (scripts/build-guests.sh).
const DEBIAN_LINKER: &str = "wasm-ld-16";
/// Lines of build output shown when a build fails.
const BUILD_OUTPUT_LINES: usize = 40;

/// How an actor's module is built.
#[derive(Clone)]
pub(super) enum Builder {
    /// `sh -c COMMAND` in the source folder, writing `$CAPLET_DEV_OUT`.
    Command(String),
    /// `cargo build --release --target wasm32-unknown-unknown` through one of the repository's
    /// toolchain routes (scripts/build-guests.sh).
    Cargo {
        route: CargoRoute,
        target_dir: PathBuf,
    },
}

/// The toolchain routes of scripts/build-guests.sh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CargoRoute {
    /// rustup with the wasm32 target installed.
    Rustup,
    /// Debian's rustc-web with `-Zbuild-std` and `wasm-ld-16`.
    Debian,
}

impl CargoRoute {
    pub(super) fn detect() -> anyhow::Result<Self> {
        let rustup = std::process::Command::new("rustup")
            .args(["target", "list", "--installed"])
            .stderr(Stdio::null())
            .output();
        if let Ok(output) = rustup
            && output.status.success()
            && String::from_utf8_lossy(&output.stdout)
                .lines()
                .any(|line| line.trim() == TARGET)
        {
            return Ok(Self::Rustup);
        }
        let linker = std::process::Command::new(DEBIAN_LINKER)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if Path::new("/usr/bin/rustc").is_file() && Path::new("/usr/bin/cargo").is_file() && linker
        {
            return Ok(Self::Debian);
        }
        bail!(
            "no toolchain for {TARGET}: run `rustup target add {TARGET}`, or `bash scripts/build-guests.sh` once (it installs Debian's offline route), or give --build-cmd"
        )
    }
}

impl Builder {
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Command(command) => format!("`{command}`"),
            Self::Cargo { route, target_dir } => format!(
                "cargo, {} route, target dir {}",
                match route {
                    CargoRoute::Rustup => "rustup",
                    CargoRoute::Debian => "Debian (-Zbuild-std, wasm-ld-16)",
                },
                target_dir.display()
            ),
        }
    }

    /// Builds the module and returns its bytes, or the build's output when it failed.
    pub(super) async fn build(&self, source: &Path, out: &Path) -> Result<Vec<u8>, String> {
        match self {
            Self::Command(command) => {
                let mut cmd = tokio::process::Command::new("sh");
                cmd.arg("-c")
                    .arg(command)
                    .current_dir(source)
                    .env("CAPLET_DEV_OUT", out)
                    .env("CAPLET_DEV_SOURCE", source);
                run_build(cmd).await?;
                tokio::fs::read(out).await.map_err(|error| {
                    format!(
                        "the build command succeeded but left no module at $CAPLET_DEV_OUT ({}): {error}",
                        out.display()
                    )
                })
            }
            Self::Cargo { route, target_dir } => {
                let manifest = source.join("Cargo.toml");
                let mut cmd = match route {
                    CargoRoute::Rustup => tokio::process::Command::new("cargo"),
                    CargoRoute::Debian => {
                        let mut cmd = tokio::process::Command::new("/usr/bin/cargo");
                        cmd.env("RUSTC_BOOTSTRAP", "1")
                            .env("RUSTC", "/usr/bin/rustc");
                        cmd
                    }
                };
                // The host's build settings must not leak into the guest's.
                for var in [
                    "CARGO_TARGET_DIR",
                    "CARGO_BUILD_TARGET_DIR",
                    "CARGO_BUILD_TARGET",
                    "RUSTFLAGS",
                    "CARGO_ENCODED_RUSTFLAGS",
                ] {
                    cmd.env_remove(var);
                }
                if *route == CargoRoute::Rustup {
                    cmd.env_remove("RUSTC").env_remove("RUSTC_BOOTSTRAP");
                }
                cmd.arg("build")
                    .arg("--release")
                    .arg("--target")
                    .arg(TARGET)
                    .arg("--manifest-path")
                    .arg(&manifest)
                    .arg("--target-dir")
                    .arg(target_dir)
                    .arg("--message-format=json-render-diagnostics");
                if *route == CargoRoute::Debian {
                    cmd.arg("-Zbuild-std=std,panic_abort")
                        .arg("--config")
                        .arg(format!("target.{TARGET}.linker=\"{DEBIAN_LINKER}\""));
                }
                cmd.current_dir(source);
                let stdout = run_build(cmd).await?;
                let module = built_module(&stdout, &manifest).ok_or_else(|| {
                    format!(
                        "cargo built no cdylib .wasm for {}; an actor crate needs `crate-type = [\"cdylib\"]`",
                        manifest.display()
                    )
                })?;
                tokio::fs::read(&module)
                    .await
                    .map_err(|error| format!("cannot read {}: {error}", module.display()))
            }
        }
    }
}

/// Runs a build; `Ok` with its stdout, or `Err` with the end of its output.
async fn run_build(mut cmd: tokio::process::Command) -> Result<String, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = cmd
        .output()
        .await
        .map_err(|error| format!("cannot run the build: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if output.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    // cargo's JSON messages on stdout are for us; people read stderr (and a script's stdout).
    let text: Vec<&str> = stderr
        .lines()
        .chain(stdout.lines().filter(|line| !line.starts_with('{')))
        .collect();
    let tail = text
        .get(text.len().saturating_sub(BUILD_OUTPUT_LINES)..)
        .unwrap_or_default()
        .join("\n");
    Err(format!("the build failed ({}):\n{tail}", output.status))
}

/// The `.wasm` of the cdylib that cargo reported for the package at `manifest`.
fn built_module(messages: &str, manifest: &Path) -> Option<PathBuf> {
    let wanted = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact")
        })
        .filter(|message| {
            message
                .get("manifest_path")
                .and_then(|path| path.as_str())
                .is_some_and(|path| Path::new(path) == wanted)
        })
        .filter_map(|message| {
            message
                .get("filenames")
                .and_then(|files| files.as_array())
                .and_then(|files| {
                    files
                        .iter()
                        .filter_map(|file| file.as_str())
                        .find(|file| file.ends_with(".wasm"))
                        .map(PathBuf::from)
                })
        })
        .next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdylib_of_the_watched_package_is_found_in_cargos_messages() {
        let dir = std::env::temp_dir();
        let manifest = dir.join("Cargo.toml");
        let wanted = std::fs::canonicalize(&dir)
            .unwrap_or(dir)
            .join("Cargo.toml");
        let messages = format!(
            "{{\"reason\":\"compiler-artifact\",\"manifest_path\":\"/elsewhere/Cargo.toml\",\"filenames\":[\"/t/dep.rlib\"]}}\n\
             {{\"reason\":\"compiler-artifact\",\"manifest_path\":{:?},\"filenames\":[\"/t/actor.wasm\"]}}\n\
             {{\"reason\":\"build-finished\",\"success\":true}}\n",
            wanted.display().to_string()
        );
        assert_eq!(
            built_module(&messages, &manifest),
            Some(PathBuf::from("/t/actor.wasm"))
        );
        assert_eq!(built_module("not json\n", &manifest), None);
    }
}
