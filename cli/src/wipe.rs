//! The allocator of `polku serve`: every block is overwritten with zeros when it is freed (or
//! moved by a reallocation), so that what a request carried (an assessment form's answers, a
//! personal identity code before it was pseudonymised) does not linger in freed memory, where a
//! dump of the process would find it. Buffers that live on (a connection's read buffer while
//! the connection stays open) are overwritten when they are freed at its end.
//!
//! Off until [`enable`] is called: the other commands do not pay for it. This is the only
//! `unsafe` code of the workspace: the allocator interface is unsafe by nature, and each call
//! passes its arguments on to the system allocator unchanged.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

static WIPE: AtomicBool = AtomicBool::new(false);

/// From now on, freed memory is overwritten.
pub fn enable() {
    WIPE.store(true, Ordering::SeqCst);
}

/// The system allocator, overwriting what it frees once [`enable`] has been called.
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

// SAFETY: every method hands its arguments to `System` unchanged; the only addition is
// overwriting a block the caller is giving up, while it is still allocated.
unsafe impl GlobalAlloc for Wiping {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc`; the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `System.alloc_zeroed`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if WIPE.load(Ordering::Relaxed) {
            // SAFETY: `ptr` is a live block of `layout.size()` bytes until freed below.
            unsafe { wipe(ptr, layout.size()) };
        }
        // SAFETY: as `System.dealloc`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !WIPE.load(Ordering::Relaxed) {
            // SAFETY: as `System.realloc`.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        // A reallocation may move the block and free the old one without overwriting it, so
        // the move is done here: a new block, the contents copied, the old one wiped and freed.
        // SAFETY: `GlobalAlloc::realloc` requires `new_size`, rounded up to `layout.align()`,
        // not to overflow, so this layout is valid.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: `new_layout` has a non-zero size (the caller's contract for `realloc`).
        let new = unsafe { System.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are live and distinct; the copy is within both sizes.
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                wipe(ptr, layout.size());
                System.dealloc(ptr, layout);
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
}
