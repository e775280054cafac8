//! The actor's memory allocator: size classes with free lists in front of the standard one.
//!
//! Why: every waPC call allocates a dozen or two small blocks (the request's buffers, its
//! decoded strings and headers, the response and its encoding) and frees them all before it
//! returns. Rust's default allocator on wasm32 (dlmalloc) spends more time on each of those
//! than the host spends on the whole call's dispatch (BENCHMARKS.md, host_call). Here a small
//! block is popped from, and pushed back to, a singly linked list of free blocks of its size
//! class: a few instructions each way.
//!
//! How:
//! - Requests of at most [`MAX_SMALL`] bytes with an alignment of at most [`ALIGN`] round up to
//!   one of [`CLASSES`] size classes (multiples of 16 bytes; 16-byte steps up to 128, then
//!   four steps per doubling, so at most a fifth of a block is rounding).
//! - A class with no free block carves one from the current chunk, a [`CHUNK`]-byte block
//!   taken from the standard allocator; the chunk's unused tail is abandoned when the next
//!   chunk is taken (less than [`MAX_SMALL`] bytes per chunk).
//! - A freed small block goes back to its class's list and is never returned to the standard
//!   allocator: an instance keeps at most its peak of small blocks. The host bounds an
//!   instance's memory anyway and does not keep big idle instances.
//! - Larger or more aligned requests go to the standard allocator unchanged.
//!
//! The state is not shared between threads: the global allocator exists only on wasm32 without
//! the `atomics` feature, where an instance runs one thread and nothing interrupts an
//! allocation. [`Pools`] itself is tested natively (`tests` below).

use std::alloc::{GlobalAlloc, Layout};
use std::ptr::{self, NonNull};

/// Largest request served from the size classes (bytes). Larger ones go to the standard
/// allocator.
pub const MAX_SMALL: usize = 4096;

/// Largest alignment served from the size classes (bytes); every class is a multiple of it and
/// every chunk starts aligned to it.
pub const ALIGN: usize = 16;

/// Bytes taken from the standard allocator each time the classes need room (64 KiB).
pub const CHUNK: usize = 64 << 10;

/// The number of size classes: 8 steps of 16 bytes up to 128, then 4 per doubling to 4096.
pub const CLASSES: usize = 8 + 4 * 5;

/// The block size of `class`.
const fn class_size(class: usize) -> usize {
    if class < 8 {
        16 * (class + 1)
    } else {
        let doubling = (class - 8) / 4; // 0 for (128, 256], 1 for (256, 512], ...
        let step = (class - 8) % 4 + 1;
        let base = 128 << doubling;
        base + step * (base / 4)
    }
}

/// The class serving `layout`, or `None` when the standard allocator serves it.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(1);
    if size > MAX_SMALL || layout.align() > ALIGN {
        return None;
    }
    if size <= 128 {
        return Some((size - 1) / 16);
    }
    // size in (128 << d, 256 << d]: d from the bit length, then which quarter.
    let bits = usize::BITS - (size - 1).leading_zeros(); // 8 for (128, 256]
    let doubling = (bits - 8) as usize;
    let base = 128usize << doubling;
    let quarter = (size - base - 1) / (base / 4); // 0..=3
    Some(8 + doubling * 4 + quarter)
}

/// Where chunks come from.
pub(crate) trait ChunkSource {
    /// A block of `layout` or null, as [`GlobalAlloc::alloc`].
    ///
    /// # Safety
    /// As [`GlobalAlloc::alloc`].
    unsafe fn take(&self, layout: Layout) -> *mut u8;
}

/// The standard allocator (dlmalloc on wasm32) as a chunk source.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub(crate) struct System;

impl ChunkSource for System {
    unsafe fn take(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { std::alloc::System.alloc(layout) }
    }
}

/// The free lists and the current chunk.
pub(crate) struct Pools<S> {
    source: S,
    /// Head of each class's free list; a free block holds the address of the next one.
    free: [*mut u8; CLASSES],
    /// The unused part of the current chunk.
    next: *mut u8,
    end: *mut u8,
}

impl<S: ChunkSource> Pools<S> {
    pub(crate) const fn new(source: S) -> Self {
        Self {
            source,
            free: [ptr::null_mut(); CLASSES],
            next: ptr::null_mut(),
            end: ptr::null_mut(),
        }
    }

    /// A block of at least `class_size(class)` bytes aligned to [`ALIGN`], or null.
    ///
    /// # Safety
    /// `class < CLASSES`; blocks in the free lists were handed out by this `Pools`.
    unsafe fn alloc_small(&mut self, class: usize) -> *mut u8 {
        let Some(head) = self.free.get_mut(class) else {
            return ptr::null_mut();
        };
        if let Some(block) = NonNull::new(*head) {
            // SAFETY: a free block is at least 16 bytes, 16-aligned, owned by the list, and
            // starts with the address of the next free block (written by `dealloc_small`).
            *head = unsafe { block.cast::<*mut u8>().as_ptr().read() };
            return block.as_ptr();
        }
        let size = class_size(class);
        if (self.end as usize) - (self.next as usize) < size {
            // SAFETY: CHUNK and ALIGN make a valid, non-zero layout.
            let chunk = unsafe {
                self.source
                    .take(Layout::from_size_align_unchecked(CHUNK, ALIGN))
            };
            if chunk.is_null() {
                return ptr::null_mut();
            }
            self.next = chunk;
            // SAFETY: `chunk` is the start of a CHUNK-byte allocation.
            self.end = unsafe { chunk.add(CHUNK) };
        }
        let block = self.next;
        // SAFETY: at least `size` bytes remain between `next` and `end` (checked above).
        self.next = unsafe { block.add(size) };
        block
    }

    /// Puts `block` back on its class's list.
    ///
    /// # Safety
    /// `block` came from `alloc_small(class)` of this `Pools` and is not used any more.
    unsafe fn dealloc_small(&mut self, block: *mut u8, class: usize) {
        if let Some(head) = self.free.get_mut(class) {
            // SAFETY: the block is ours, at least 16 bytes and 16-aligned, so it can hold the
            // link to the next free block.
            unsafe { block.cast::<*mut u8>().write(*head) };
            *head = block;
        }
    }

    /// [`GlobalAlloc::alloc`].
    ///
    /// # Safety
    /// As [`GlobalAlloc::alloc`].
    pub(crate) unsafe fn alloc(&mut self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            // SAFETY: `class_of` returns classes below CLASSES.
            Some(class) => unsafe { self.alloc_small(class) },
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
            None => unsafe { std::alloc::System.alloc(layout) },
        }
    }

    /// [`GlobalAlloc::dealloc`].
    ///
    /// # Safety
    /// As [`GlobalAlloc::dealloc`]: `block` came from this `Pools` with `layout`.
    pub(crate) unsafe fn dealloc(&mut self, block: *mut u8, layout: Layout) {
        match class_of(layout) {
            // SAFETY: the same layout gives the same class it was allocated from.
            Some(class) => unsafe { self.dealloc_small(block, class) },
            // SAFETY: large blocks came from the standard allocator with this layout.
            None => unsafe { std::alloc::System.dealloc(block, layout) },
        }
    }

    /// [`GlobalAlloc::realloc`]: in place when the new size keeps the class.
    ///
    /// # Safety
    /// As [`GlobalAlloc::realloc`].
    pub(crate) unsafe fn realloc(
        &mut self,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        // SAFETY (all three blocks): the caller guarantees `new_size` with `layout.align()` is a
        // valid layout and that `block` came from this `Pools` with `layout`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class_of(layout), class_of(new_layout)) {
            (Some(old), Some(new)) if old == new => block,
            (None, None) => unsafe { std::alloc::System.realloc(block, layout, new_size) },
            _ => unsafe {
                let moved = self.alloc(new_layout);
                if !moved.is_null() {
                    ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                    self.dealloc(block, layout);
                }
                moved
            },
        }
    }
}

/// The global allocator of a wasm32 actor (see the module docs).
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
pub(crate) mod global {
    use std::alloc::{GlobalAlloc, Layout};
    use std::cell::UnsafeCell;

    use super::{Pools, System};

    pub(crate) struct ActorAllocator(UnsafeCell<Pools<System>>);

    // SAFETY: wasm32 without the `atomics` feature has one thread and no signals, so the pools
    // are never used from two places at once.
    unsafe impl Sync for ActorAllocator {}

    #[global_allocator]
    static ALLOCATOR: ActorAllocator = ActorAllocator(UnsafeCell::new(Pools::new(System)));

    // SAFETY: each method forwards the caller's guarantees to `Pools`; the `&mut` it takes is
    // unique because nothing else runs during an allocation (see `Sync` above).
    unsafe impl GlobalAlloc for ActorAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            unsafe { (*self.0.get()).alloc(layout) }
        }

        unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
            unsafe { (*self.0.get()).dealloc(block, layout) }
        }

        unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            unsafe { (*self.0.get()).realloc(block, layout, new_size) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::collections::BTreeMap;

    #[test]
    fn classes_are_increasing_multiples_of_the_alignment_and_cover_every_small_size() {
        for class in 0..CLASSES {
            assert_eq!(class_size(class) % ALIGN, 0);
            if class > 0 {
                assert!(class_size(class) > class_size(class - 1));
            }
        }
        assert_eq!(class_size(CLASSES - 1), MAX_SMALL);
        for size in 1..=MAX_SMALL {
            let class = class_of(Layout::from_size_align(size, 1).unwrap()).unwrap();
            assert!(class_size(class) >= size, "{size} fits its class");
            if class > 0 {
                assert!(
                    class_size(class - 1) < size,
                    "{size} takes the smallest class"
                );
            }
            // Rounding costs at most a quarter of the request past the 16-byte steps.
            assert!(class_size(class) - size < 16 || (class_size(class) - size) * 4 <= size);
        }
        for (size, align) in [(MAX_SMALL + 1, 1), (8, 32), (0, 4096)] {
            assert_eq!(
                class_of(Layout::from_size_align(size, align).unwrap()),
                None
            );
        }
    }

    /// A chunk source that counts what it hands out.
    struct Counting(Cell<usize>);

    impl ChunkSource for Counting {
        unsafe fn take(&self, layout: Layout) -> *mut u8 {
            self.0.set(self.0.get() + 1);
            unsafe { std::alloc::System.alloc(layout) }
        }
    }

    /// Random allocations, frees and reallocations: every live block keeps its own bytes, is
    /// aligned, and overlaps no other; freed small blocks are reused before chunks are taken.
    #[test]
    fn blocks_never_overlap_keep_their_contents_and_are_reused() {
        let mut pools = Pools::new(Counting(Cell::new(0)));
        let mut live: BTreeMap<usize, (Layout, u8)> = BTreeMap::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut random = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..20_000u32 {
            let choice = random() % 10;
            if choice < 5 || live.is_empty() {
                let size = match random() % 8 {
                    0 => (random() % 20_000) as usize,
                    _ => (random() % 600) as usize,
                };
                let align = [1, 2, 8, 16, 64][(random() % 5) as usize];
                let layout = Layout::from_size_align(size.max(1), align).unwrap();
                let block = unsafe { pools.alloc(layout) };
                assert!(!block.is_null());
                assert_eq!(block as usize % align, 0);
                let fill = (round % 251) as u8;
                unsafe { ptr::write_bytes(block, fill, layout.size()) };
                live.insert(block as usize, (layout, fill));
            } else {
                let index = (random() as usize) % live.len();
                let (&address, &(layout, fill)) = live.iter().nth(index).unwrap();
                live.remove(&address);
                let block = address as *mut u8;
                let bytes = unsafe { std::slice::from_raw_parts(block, layout.size()) };
                assert!(
                    bytes.iter().all(|b| *b == fill),
                    "block {address:x} kept its bytes"
                );
                if choice < 8 {
                    unsafe { pools.dealloc(block, layout) };
                } else {
                    let new_size = (random() % 6_000) as usize + 1;
                    let moved = unsafe { pools.realloc(block, layout, new_size) };
                    let kept = layout.size().min(new_size);
                    let bytes = unsafe { std::slice::from_raw_parts(moved, kept) };
                    assert!(bytes.iter().all(|b| *b == fill), "realloc kept the bytes");
                    let layout = Layout::from_size_align(new_size, layout.align()).unwrap();
                    unsafe { ptr::write_bytes(moved, fill, new_size) };
                    live.insert(moved as usize, (layout, fill));
                }
            }
            // Live blocks never overlap (ordered by address, each ends before the next starts).
            let mut previous_end = 0;
            for (&address, (layout, _)) in &live {
                assert!(address >= previous_end, "blocks overlap at {address:x}");
                previous_end = address + layout.size();
            }
        }
        for (address, (layout, _)) in std::mem::take(&mut live) {
            unsafe { pools.dealloc(address as *mut u8, layout) };
        }
        // Freed blocks are reused: the same small allocations again take no new chunk.
        let chunks = pools.source.0.get();
        let layout = Layout::from_size_align(100, 8).unwrap();
        let blocks: Vec<_> = (0..100).map(|_| unsafe { pools.alloc(layout) }).collect();
        for block in &blocks {
            unsafe { pools.dealloc(*block, layout) };
        }
        let again: Vec<_> = (0..100).map(|_| unsafe { pools.alloc(layout) }).collect();
        assert_eq!(pools.source.0.get(), chunks);
        let mut sorted = again.clone();
        sorted.sort();
        let mut expected = blocks.clone();
        expected.sort();
        assert_eq!(sorted, expected, "the freed blocks came back");
    }
}
