//! Deadlines of guests parked in host calls, kept by the epoch ticker.
//!
//! A guest waiting in `__host_call` (on Redis, NATS, another actor) runs no code, so the epoch
//! deadline cannot stop it; the call's deadline must still end the wait. A tokio timer per
//! waiting host call would do it, at a price paid on every such call: a clone of the runtime
//! handle and two trips through the timer wheel's lock, which all workers share (a Redis-backed
//! request showed it as a few percent of its CPU). The runtime's epoch ticker wakes every tick
//! anyway, so it keeps these deadlines too:
//!
//! - each instance gets a [`Slot`] in its runtime's [`ParkedCalls`] when it is created;
//! - a host call that does not answer at its first poll *arms* the slot with its deadline and
//!   its task's waker ([`UntilDeadline`]), and disarms it when it ends;
//! - at every tick the ticker wakes the tasks whose armed deadline has passed, and their host
//!   call then ends as a deadline error.
//!
//! A waiting host call therefore ends within one tick ([`crate::DEFAULT_EPOCH_TICK`]) after its
//! deadline, the same precision as a guest stopped in its own code. Arming and disarming lock
//! only the instance's own slot, which only the ticker contends for, once per tick.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Every instance's slot, for the ticker to scan.
#[derive(Default)]
pub(crate) struct ParkedCalls {
    slots: Mutex<Vec<Arc<Slot>>>,
}

impl ParkedCalls {
    /// A slot for a new instance; it leaves the list once the instance drops its [`SlotHandle`].
    pub(crate) fn slot(&self) -> SlotHandle {
        let slot = Arc::new(Slot::default());
        lock(&self.slots).push(slot.clone());
        SlotHandle(slot)
    }

    /// Wakes every armed host call whose deadline is `now` or earlier, and forgets the slots of
    /// dropped instances. The epoch ticker calls it at every tick.
    pub(crate) fn expire(&self, now: Instant) {
        let mut due = Vec::new();
        lock(&self.slots).retain(|slot| {
            if slot.dropped.load(Ordering::Acquire) {
                return false;
            }
            if slot.armed.load(Ordering::Acquire)
                && let Some(waker) = slot.take_if_due(now)
            {
                due.push(waker);
            }
            true
        });
        // Woken outside the lock: a waker may run arbitrary code.
        for waker in due {
            waker.wake();
        }
    }
}

/// One instance's parked host call, if it has one.
///
/// `waiting`, `armed` and `expired` change together under the `waiting` lock, so the ticker
/// taking a due waker and the call disarming are ordered one way or the other: an expiry can
/// never outlive the disarm and cut short the instance's next host call.
#[derive(Default)]
pub(crate) struct Slot {
    /// Whether a host call waits with a deadline: what the ticker checks first, without a lock.
    armed: AtomicBool,
    /// Set by the ticker when it woke the call for its deadline.
    expired: AtomicBool,
    /// The instance is gone: the ticker drops the slot.
    dropped: AtomicBool,
    waiting: Mutex<Option<(Instant, Waker)>>,
}

impl Slot {
    fn arm(&self, deadline: Instant, waker: &Waker) {
        let mut waiting = lock(&self.waiting);
        match &mut *waiting {
            Some((at, current)) if current.will_wake(waker) => *at = deadline,
            other => *other = Some((deadline, waker.clone())),
        }
        self.armed.store(true, Ordering::Release);
    }

    fn disarm(&self) {
        // Only the instance's own host call arms its slot, so a slot it finds unarmed has
        // nothing to clear (the second disarm of a call, from its drop, takes no lock).
        if !self.armed.load(Ordering::Acquire) {
            return;
        }
        let stale = {
            let mut waiting = lock(&self.waiting);
            self.expired.store(false, Ordering::Release);
            self.armed.store(false, Ordering::Release);
            waiting.take()
        };
        drop(stale); // outside the lock: dropping a waker may run code
    }

    fn take_if_due(&self, now: Instant) -> Option<Waker> {
        let mut waiting = lock(&self.waiting);
        match &*waiting {
            Some((deadline, _)) if *deadline <= now => {
                self.expired.store(true, Ordering::Release);
                waiting.take().map(|(_, waker)| waker)
            }
            _ => None,
        }
    }
}

/// An instance's hold on its [`Slot`]; dropping it (with the instance) retires the slot.
pub(crate) struct SlotHandle(Arc<Slot>);

impl SlotHandle {
    /// `future` bounded by `deadline`: `None` once the deadline has passed, detected at the
    /// first epoch tick after it.
    pub(crate) fn until<F: Future + Unpin>(
        &self,
        deadline: Instant,
        future: F,
    ) -> UntilDeadline<'_, F> {
        UntilDeadline {
            future,
            slot: &self.0,
            deadline,
        }
    }
}

impl Drop for SlotHandle {
    fn drop(&mut self) {
        self.0.disarm();
        self.0.dropped.store(true, Ordering::Release);
    }
}

/// See [`SlotHandle::until`].
pub(crate) struct UntilDeadline<'s, F> {
    future: F,
    slot: &'s Slot,
    deadline: Instant,
}

impl<F: Future + Unpin> Future for UntilDeadline<'_, F> {
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(output) = Pin::new(&mut self.future).poll(cx) {
            self.slot.disarm();
            return Poll::Ready(Some(output));
        }
        if self.slot.expired.load(Ordering::Acquire) {
            self.slot.disarm();
            return Poll::Ready(None);
        }
        self.slot.arm(self.deadline, cx.waker());
        Poll::Pending
    }
}

impl<F> Drop for UntilDeadline<'_, F> {
    fn drop(&mut self) {
        // Cancelled (the caller went away) or finished: either way nothing waits any more.
        self.slot.disarm();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while these locks are held; a poisoned one still holds consistent data.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_waiting_call_ends_at_the_first_expiry_after_its_deadline_and_not_before() {
        let calls = Arc::new(ParkedCalls::default());
        let slot = calls.slot();
        let deadline = Instant::now() + Duration::from_millis(50);
        let ticker = {
            let calls = calls.clone();
            std::thread::spawn(move || {
                // Before the deadline nothing ends; after it, the next tick ends the call.
                calls.expire(Instant::now());
                std::thread::sleep(Duration::from_millis(80));
                calls.expire(Instant::now());
            })
        };
        let started = Instant::now();
        let outcome = slot.until(deadline, std::future::pending::<()>()).await;
        assert_eq!(outcome, None);
        assert!(started.elapsed() >= Duration::from_millis(50));
        ticker.join().unwrap();
        // The slot is disarmed and reusable: a call that answers gets its answer.
        let far = Instant::now() + Duration::from_secs(60);
        assert_eq!(slot.until(far, std::future::ready(7)).await, Some(7));
        calls.expire(far);
        assert_eq!(slot.until(far, std::future::ready(8)).await, Some(8));
    }

    #[test]
    fn dropped_instances_leave_the_list() {
        let calls = ParkedCalls::default();
        let kept = calls.slot();
        drop(calls.slot());
        calls.expire(Instant::now());
        assert_eq!(lock(&calls.slots).len(), 1);
        drop(kept);
        calls.expire(Instant::now());
        assert!(lock(&calls.slots).is_empty());
    }
}
