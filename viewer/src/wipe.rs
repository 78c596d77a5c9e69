//! The allocator of `polku serve` (the `polku` program's, and `polku-bench`'s, whose server
//! and writer benchmarks stand in for it): every block is overwritten with zeros when it is
//! freed (or moved by a reallocation), so that what a request carried (an assessment form's
//! answers, a personal identity code before it was pseudonymised) does not linger in freed
//! memory, where a dump of the process would find it. Buffers that live on (a connection's read buffer while
//! the connection stays open) are overwritten when they are freed at its end.
//!
//! The blocks come from mimalloc rather than the C library's allocator: a server's requests
//! allocate on one thread and free on another (the runtime's workers, the writer), which the C
//! library's allocator serves with locks and merging of free lists, and mimalloc with lists of
//! its own per thread (a fifth or more less CPU per client status read, `docs/benchmarks.md`).
//!
//! Off until [`enable`] is called: the other commands do not pay for the wiping. This is the
//! only `unsafe` code of the workspace: the allocator interface is unsafe by nature, and each
//! call passes its arguments on to mimalloc unchanged.

#![allow(unsafe_code)]

use mimalloc::MiMalloc as Blocks;
use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};

static WIPE: AtomicBool = AtomicBool::new(false);

/// mimalloc's `mi_option_allow_thp`: its place in `mi_option_t` of `mimalloc.h`, version 2 (the
/// version this build selects).
const ALLOW_THP: libmimalloc_sys::mi_option_t = 37;

/// Sets the allocator up for a program that builds a large state: called first thing in
/// `main`. mimalloc asks the system for transparent huge pages for the memory it reserves
/// (`madvise`), and the system then clears 2 MiB at each first touch: a recovery of a million
/// cases spent three times the kernel time of the C library's allocator doing so, and took
/// 4.4–6.2 s against 2.7–5.4 s (`docs/benchmarks.md`). The first reservation is made before
/// `main`, so mimalloc's own option comes too late for it: huge pages are turned off for the
/// whole process, as mimalloc itself does when that option is set in the environment.
pub fn settle() {
    // SAFETY: sets one of mimalloc's options, which it reads atomically; any value is valid.
    unsafe { libmimalloc_sys::mi_option_set(ALLOW_THP, 0) };
    // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)` only sets a flag of this process; a
    // kernel without it answers with an error, which leaves things as they were.
    #[cfg(target_os = "linux")]
    let _ = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
}

/// Whether transparent huge pages are off for this process ([`settle`]).
#[cfg(all(test, target_os = "linux"))]
fn huge_pages_off() -> bool {
    // SAFETY: `prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0)` only reads a flag of this process.
    unsafe { libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1 }
}

/// From now on, freed memory is overwritten.
pub fn enable() {
    WIPE.store(true, Ordering::SeqCst);
}

/// mimalloc, overwriting what it frees once [`enable`] has been called.
#[derive(Debug)]
pub struct Wiping;

/// Overwrites `size` bytes at `ptr` in a way the compiler may not drop as a dead store before
/// the block is freed (as the `zeroize` crate does: volatile writes, then a fence).
///
/// # Safety
/// `ptr` must be valid for writes of `size` bytes.
unsafe fn wipe(ptr: *mut u8, size: usize) {
    // Volatile writes, which the compiler must perform although the block is freed right
    // after, a word at a time where the block allows it.
    let words = size / std::mem::size_of::<usize>();
    let aligned = ptr.align_offset(std::mem::align_of::<usize>()) == 0;
    let mut done = 0;
    if aligned {
        let base = ptr.cast::<usize>();
        for i in 0..words {
            // SAFETY: within the block (the caller's guarantee) and aligned for `usize`.
            unsafe { std::ptr::write_volatile(base.add(i), 0) };
        }
        done = words * std::mem::size_of::<usize>();
    }
    for i in done..size {
        // SAFETY: within the block, as the caller guarantees.
        unsafe { std::ptr::write_volatile(ptr.add(i), 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

// SAFETY: every method hands its arguments to mimalloc unchanged; the only addition is
// overwriting a block the caller is giving up, while it is still allocated.
unsafe impl GlobalAlloc for Wiping {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `MiMalloc::alloc`; the caller's contract is passed on.
        unsafe { Blocks.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `MiMalloc::alloc_zeroed`.
        unsafe { Blocks.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WIPE.load(Ordering::Relaxed) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until freed below.
            unsafe { wipe(ptr, layout.size()) };
        }
        // SAFETY: as `MiMalloc::dealloc`.
        unsafe { Blocks.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !WIPE.load(Ordering::Relaxed) {
            // SAFETY: as `MiMalloc::realloc`.
            return unsafe { Blocks.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() && new_size >= layout.size() / 2 {
            // Shrunk where it is, as mimalloc does down to half the size: the part given up is
            // overwritten now, since the block will be freed with its new, smaller size.
            // SAFETY: `ptr` is live for `layout.size()` bytes, of which this is the tail.
            unsafe { wipe(ptr.add(new_size), layout.size() - new_size) };
            return ptr;
        }
        // Grown where it is when the block has the room (mimalloc's size classes leave some):
        // nothing is left behind.
        // SAFETY: `ptr` is a live block of mimalloc's; `mi_expand` only answers whether it can
        // hold `new_size` bytes where it is, and then it does.
        if new_size > layout.size()
            && !unsafe { libmimalloc_sys::mi_expand(ptr.cast(), new_size) }.is_null()
        {
            return ptr;
        }
        // Otherwise moved (a block shrunk to less than half its size too, so that it does not
        // keep the room it gave up): a new block, the contents copied, the old one wiped and freed (a
        // reallocation by mimalloc would free the old block without overwriting it).
        // SAFETY: `GlobalAlloc::realloc` requires `new_size`, rounded up to `layout.align()`,
        // not to overflow, so this layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size (the caller's contract for `realloc`).
        let new = unsafe { Blocks.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the copy is within both sizes.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                wipe(ptr, layout.size());
                Blocks.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_moved_by_a_reallocation_keeps_its_contents() {
        // That freed blocks hold nothing afterwards is shown on a running server, by the
        // assessment form's browser test reading its memory.
        inner();
    }

    fn inner() {
        enable();
        let layout = Layout::from_size_align(64, 8).unwrap_or_else(|_| unreachable!());
        // SAFETY: a block allocated, written, moved and freed with its own layout.
        unsafe {
            let block = Wiping.alloc(layout);
            assert!(!block.is_null());
            std::ptr::write_bytes(block, 0xAB, 64);
            let moved = Wiping.realloc(block, layout, 4096);
            assert!(!moved.is_null());
            assert!((0..64).all(|i| *moved.add(i) == 0xAB), "the contents move along");
            let big = Layout::from_size_align(4096, 8).unwrap_or_else(|_| unreachable!());
            Wiping.dealloc(moved, big);
        }
    }

    #[test]
    fn settling_turns_huge_pages_off() {
        // SAFETY: reads one of mimalloc's options.
        let allowed = || unsafe { libmimalloc_sys::mi_option_get(ALLOW_THP) };
        assert_eq!(allowed(), 1, "mimalloc's default: the option is the right one");
        settle();
        assert_eq!(allowed(), 0);
        #[cfg(target_os = "linux")]
        assert!(huge_pages_off());
    }

    #[test]
    fn a_block_grown_where_it_has_room_stays_there_and_a_shrunk_one_loses_its_tail_or_moves() {
        enable();
        let layout = Layout::from_size_align(40, 8).unwrap_or_else(|_| unreachable!());
        // SAFETY: a block allocated, written, grown and shrunk within what mimalloc says it
        // holds (`mi_usable_size`), and freed with its last layout.
        unsafe {
            let block = Wiping.alloc(layout);
            assert!(!block.is_null());
            let room = libmimalloc_sys::mi_usable_size(block.cast());
            assert!(room > 40, "mimalloc rounds 40 bytes up to a size class");
            std::ptr::write_bytes(block, 0xAB, 40);
            let grown = Wiping.realloc(block, layout, room);
            assert_eq!(grown, block, "grown where it is");
            assert!((0..40).all(|i| *grown.add(i) == 0xAB), "the contents stay");
            std::ptr::write_bytes(grown, 0xCD, room);
            let room_layout = Layout::from_size_align(room, 8).unwrap_or_else(|_| unreachable!());
            let half = room / 2;
            let shrunk = Wiping.realloc(grown, room_layout, half);
            assert_eq!(shrunk, block, "shrunk where it is");
            assert!((0..half).all(|i| *shrunk.add(i) == 0xCD), "the part kept stays");
            assert!((half..room).all(|i| *shrunk.add(i) == 0), "the part given up is overwritten");
            let small = Layout::from_size_align(half, 8).unwrap_or_else(|_| unreachable!());
            Wiping.dealloc(shrunk, small);
            // Shrunk to less than half: moved, keeping what it keeps.
            let big = Layout::from_size_align(4096, 8).unwrap_or_else(|_| unreachable!());
            let block = Wiping.alloc(big);
            assert!(!block.is_null());
            std::ptr::write_bytes(block, 0xEF, 4096);
            let moved = Wiping.realloc(block, big, 16);
            assert!(!moved.is_null());
            assert_ne!(moved, block, "a small remainder does not keep the large block");
            assert!((0..16).all(|i| *moved.add(i) == 0xEF), "the part kept moves along");
            Wiping
                .dealloc(moved, Layout::from_size_align(16, 8).unwrap_or_else(|_| unreachable!()));
        }
    }
}
