//! The tokio runtime a host serves on.
//!
//! One setting differs from tokio's default: the workers' LIFO slot is off. With the slot, a
//! task woken by the running task runs next, ahead of the tasks already waiting. A Redis (or
//! NATS) connection is one such task: it writes whatever commands are queued when it runs. With
//! the slot it runs as soon as the first request has queued its command, so Redis receives few
//! commands per read; without it, it runs behind the requests already ready, and they queue
//! theirs first. For kvcounter on Redis under `wrk -c32` that cut Redis's CPU per request from
//! 3.5–4.2 to 2.2 µs, p99 latency from 2.0–4.5 to 1.1–1.6 ms, and raised throughput by about
//! 5 %; requests that wait on no other task (hello, the memory store) showed no difference
//! (BENCHMARKS.md, fourteenth round).
//!
//! `disable_lifo_slot` is tokio's unstable API: .cargo/config.toml builds the host with
//! `--cfg tokio_unstable`. A build without that flag (a `RUSTFLAGS` variable replaces the
//! config's flags) keeps tokio's default scheduler, and this module's test fails to say so.

use tokio::runtime::{Builder, Runtime};

/// The multi-threaded runtime `caplet up` and `caplet dev` serve on: every driver, one worker
/// per core, and no LIFO slot when the build allows it.
pub fn server_runtime() -> std::io::Result<Runtime> {
    server_builder().build()
}

fn server_builder() -> Builder {
    let mut builder = Builder::new_multi_thread();
    builder.enable_all();
    #[cfg(tokio_unstable)]
    builder.disable_lifo_slot();
    builder
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_task_woken_by_the_running_task_runs_behind_the_tasks_already_ready() {
        // One worker, so the order is the scheduler's alone.
        let runtime = server_builder().worker_threads(1).build().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let record = |log: &Arc<Mutex<Vec<&'static str>>>, what| log.lock().unwrap().push(what);
        runtime.block_on(async {
            let log = log.clone();
            let handles = tokio::spawn(async move {
                let (wake, woken) = tokio::sync::oneshot::channel::<()>();
                let waiter = tokio::spawn({
                    let log = log.clone();
                    async move {
                        woken.await.unwrap();
                        record(&log, "woken");
                    }
                });
                // The waiter runs and parks on its channel before this task goes on.
                tokio::task::yield_now().await;
                let mut tasks = vec![waiter];
                for name in ["ready 1", "ready 2"] {
                    let log = log.clone();
                    tasks.push(tokio::spawn(async move { record(&log, name) }));
                }
                wake.send(()).unwrap();
                tasks
            })
            .await
            .unwrap();
            for handle in handles {
                handle.await.unwrap();
            }
        });
        // With tokio's default LIFO slot the woken task would run first.
        assert_eq!(
            *log.lock().unwrap(),
            ["ready 1", "ready 2", "woken"],
            "the LIFO slot is on: was this built without --cfg tokio_unstable (a RUSTFLAGS \
             variable replaces .cargo/config.toml's flags)?"
        );
    }
}
