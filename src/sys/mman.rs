//! Memory: an anonymous mapping seen as atomics.

use nix::errno::Errno;

use crate::{Error, Result};

/// An anonymous memory mapping (`mmap(MAP_ANONYMOUS)`), private (copy-on-write across fork) or
/// shared (parent and children see one copy), seen as a slice of atomics so that processes and
/// threads may read and write it at the same time without undefined behaviour. Relaxed atomic
/// bytes compile to plain loads and stores: a touch is one `mov`, as in C.
pub struct Mapping {
    ptr: std::ptr::NonNull<libc::c_void>,
    len: usize,
}

// SAFETY: the mapping is only ever accessed through atomics, which may be shared across
// threads; the pointer itself is valid until drop, whichever thread drops it.
unsafe impl Send for Mapping {}
// SAFETY: as above: shared access goes through `&[AtomicU8]`/`&[AtomicI64]` only.
unsafe impl Sync for Mapping {}

/// `malloc_trim(0)`: glibc hands the free memory at the top of its heaps back to the kernel, so
/// those pages are no longer mapped (spawn_cost calls it before timing fork, which copies the
/// page-table entry of every mapped page). True when some memory was released.
pub fn trim_heap() -> bool {
    // SAFETY: malloc_trim only works on glibc's own allocator state, under its locks; it frees
    // no block that is in use, so no pointer of ours is invalidated.
    unsafe { libc::malloc_trim(0) != 0 }
}

/// Whether a fork copies a mapping or shares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// MAP_PRIVATE: after fork, the first write to a page copies it (copy-on-write).
    Private,
    /// MAP_SHARED: parent and child share the pages; no copy is ever made.
    Shared,
}

/// What to tell the kernel about huge pages for a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HugePages {
    /// MADV_NOHUGEPAGE: 4 KiB pages only, one fault per page as the lecture counts.
    Never,
    /// MADV_HUGEPAGE: 2 MiB pages where the kernel can.
    Wanted,
    /// No advice: the system's THP mode decides.
    Default,
}

impl Mapping {
    /// Maps `len` bytes (rounded up to whole pages by the kernel), zero-filled, not yet backed
    /// by memory: each page faults in on first touch.
    pub fn new(len: usize, sharing: Sharing, huge: HugePages) -> Result<Mapping> {
        use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous};
        let size = std::num::NonZeroUsize::new(len).ok_or(Error::sys("mmap", Errno::EINVAL))?;
        let flags = match sharing {
            Sharing::Private => MapFlags::MAP_PRIVATE,
            Sharing::Shared => MapFlags::MAP_SHARED,
        };
        // SAFETY: a new anonymous mapping at an address the kernel chooses overlaps nothing
        // that exists, so creating it cannot invalidate any Rust reference.
        let ptr = unsafe {
            mmap_anonymous(
                None,
                size,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                flags,
            )
        }
        .map_err(|e| Error::sys("mmap", e))?;
        let mapping = Mapping { ptr, len };
        let advice = match huge {
            HugePages::Never => Some(MmapAdvise::MADV_NOHUGEPAGE),
            HugePages::Wanted => Some(MmapAdvise::MADV_HUGEPAGE),
            HugePages::Default => None,
        };
        if let Some(advice) = advice {
            // SAFETY: the range is exactly the mapping just created, which we own; huge-page
            // advice changes how it is backed, never its contents.
            unsafe { madvise(mapping.ptr, len, advice) }.map_err(|e| Error::sys("madvise", e))?;
        }
        Ok(mapping)
    }

    /// The mapping's length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for an empty mapping (never: `new` refuses length 0).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The mapping as bytes.
    pub fn bytes(&self) -> &[std::sync::atomic::AtomicU8] {
        // SAFETY: the pointer is valid for `len` bytes, readable and writable, until drop, which
        // the borrow of `self` prevents; AtomicU8 has the size and alignment of u8 and permits
        // shared mutation, so aliasing slices (other threads, or after fork the other process
        // through MAP_SHARED) are fine.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len) }
    }

    /// The mapping as 64-bit words (the length rounded down to whole words).
    pub fn words(&self) -> &[std::sync::atomic::AtomicI64] {
        // SAFETY: as for `bytes`; mmap returns page-aligned memory, so 8-byte alignment holds,
        // and the slice covers only whole words inside the mapping.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast(), self.len / 8) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: we own the mapping; no slice of it outlives `self` (they borrow it), so
        // nothing can touch it after this.
        let _ = unsafe { nix::sys::mman::munmap(self.ptr, self.len) };
    }
}

/// Tells the kernel how to back `buf`, a buffer this process owns and has not yet touched (a
/// `Vec`'s spare capacity). `Wanted` asks for transparent huge pages (`madvise(MADV_HUGEPAGE)`)
/// on its 2 MiB-aligned part: after a fork, a child then reads it through a few hundred PMD
/// entries instead of one PTE per 4 KiB page, each of whose first touch costs ~0.6 µs on a KVM
/// guest, and the fork copies 512× fewer entries. `Never` asks for 4 KiB pages only
/// (`MADV_NOHUGEPAGE`, whatever the system's THP mode). Advice only: false if the kernel
/// refused it (THP off, or too small a buffer), or for `Default`, which gives none.
pub fn advise_pages<T>(buf: &mut [std::mem::MaybeUninit<T>], huge: HugePages) -> bool {
    let (align, advice) = match huge {
        HugePages::Wanted => (2 << 20, nix::sys::mman::MmapAdvise::MADV_HUGEPAGE),
        HugePages::Never => (4096, nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE),
        HugePages::Default => return false,
    };
    let start = buf.as_mut_ptr() as usize;
    let end = start + std::mem::size_of_val(buf);
    let (from, to) = (start.next_multiple_of(align), end / align * align);
    let Some(addr) = std::ptr::NonNull::new(from as *mut libc::c_void).filter(|_| to > from) else {
        return false;
    };
    // SAFETY: [from, to) lies inside `buf`, which we borrow mutably, so no one else uses it;
    // MADV_HUGEPAGE and MADV_NOHUGEPAGE change how the pages are backed, never their contents,
    // and the range is page-aligned as madvise requires.
    unsafe { nix::sys::mman::madvise(addr, to - from, advice) }.is_ok()
}
