//! A count that every worker changes on every call, kept in stripes of its own per thread.
//!
//! Why: the host counts each external call in flight on entry and out on exit, on whichever
//! worker runs it. With one shared atomic, every call writes a cache line the other cores write
//! too, and each write waits for the line to move between cores: in the `host_call` bench's
//! two-worker case the decrement was among the costliest instructions of a call
//! (BENCHMARKS.md, host_call). Here each thread adds to its own stripe, a cache line of its own;
//! only a reader (shutdown) sums them.
//!
//! A call may start on one thread and end on another, so a stripe can go below zero; the sum
//! is exact. Sums and changes are `SeqCst`, which shutdown's wake-up protocol relies on (see
//! `dispatch::InFlight`). The call metrics pick their stripes with the same per-thread index
//! (`thread_stripe`; `metrics::METRIC_STRIPES`).

use std::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

/// Stripes per count.
///
/// Default: 32. Threads take stripes in turn the first time they count, so up to 32 threads
/// (tokio's workers among them) never share one; more threads share stripes, which stays
/// exact and only costs speed. Fixed at build time; each count takes 32 × 128 bytes.
pub const STRIPES: usize = 32;

/// One stripe, alone on its cache line (128 bytes: the line and its prefetched neighbour).
#[derive(Default)]
#[repr(align(128))]
struct Stripe(AtomicIsize);

/// A count changed from many threads and read rarely.
pub(crate) struct StripedCount {
    stripes: [Stripe; STRIPES],
}

impl Default for StripedCount {
    fn default() -> Self {
        Self {
            stripes: std::array::from_fn(|_| Stripe::default()),
        }
    }
}

impl StripedCount {
    /// Adds one on this thread's stripe.
    pub(crate) fn increment(&self) {
        self.stripe().0.fetch_add(1, Ordering::SeqCst);
    }

    /// Takes one off on this thread's stripe.
    pub(crate) fn decrement(&self) {
        self.stripe().0.fetch_sub(1, Ordering::SeqCst);
    }

    /// The count: the sum of every stripe.
    pub(crate) fn sum(&self) -> usize {
        let total: isize = self
            .stripes
            .iter()
            .map(|stripe| stripe.0.load(Ordering::SeqCst))
            .sum();
        usize::try_from(total).unwrap_or(0)
    }

    fn stripe(&self) -> &Stripe {
        let index = thread_stripe();
        // `thread_stripe` is below STRIPES; the fallback is never taken.
        self.stripes.get(index).unwrap_or(&self.stripes[0])
    }
}

/// This thread's stripe index, below [`STRIPES`], taken in turn on the thread's first count.
pub(crate) fn thread_stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static INDEX: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    INDEX.with(|index| *index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_exactly_across_threads_that_enter_and_leave_on_different_stripes() {
        let count = Arc::new(StripedCount::default());
        for _ in 0..10 {
            count.increment();
        }
        // Ten calls counted in here end on other threads, each on a stripe of its own.
        let handles: Vec<_> = (0..10)
            .map(|_| {
                let count = Arc::clone(&count);
                std::thread::spawn(move || count.decrement())
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(count.sum(), 0);
        count.increment();
        assert_eq!(count.sum(), 1);
    }

    #[test]
    fn many_threads_counting_at_once_add_up() {
        let count = Arc::new(StripedCount::default());
        let handles: Vec<_> = (0..STRIPES + 8)
            .map(|_| {
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        count.increment();
                    }
                    for _ in 0..400 {
                        count.decrement();
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(count.sum(), (STRIPES + 8) * 600);
    }
}
