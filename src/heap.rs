//! Keeping the process's resident memory close to what it actually uses (glibc's allocator).
//!
//! glibc gives each thread that allocates under contention its own arena (up to eight per core) and
//! keeps what is freed there for reuse by that arena. A scan's collecting threads each take and free
//! megabyte-sized answers, so freed memory piled up in many arenas and resident memory grew with the
//! estate while live memory did not. Two knobs fix that; elsewhere they are no-ops.
//!
//! glibc also raises its threshold for serving a block from `mmap` each time such a block is freed, up
//! to 32 MB, after which megabyte answers and documents come from the heap and leave it fragmented;
//! a fixed threshold keeps them mapped and returned whole when freed (a large scan's peak went from
//! 99 to 83 MiB).

/// Limits the allocator to two arenas and fixes its `mmap` threshold. Call first thing in `main`,
/// before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn mallopt(
                param: std::os::raw::c_int,
                value: std::os::raw::c_int,
            ) -> std::os::raw::c_int;
        }
        /// `M_ARENA_MAX` and `M_MMAP_THRESHOLD` from glibc's malloc.h.
        const M_ARENA_MAX: std::os::raw::c_int = -8;
        const M_MMAP_THRESHOLD: std::os::raw::c_int = -3;
        // SAFETY: mallopt(3) takes no pointer; both settings may be changed at any time and only
        // bound how later allocations are placed.
        unsafe {
            mallopt(M_ARENA_MAX, 2);
            mallopt(M_MMAP_THRESHOLD, 256 * 1024);
        }
    }
}

/// Gives the heap pages freed so far back to the kernel (e.g. after a scan, before evaluation builds
/// its own state, so the peaks of the two do not add up).
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> std::os::raw::c_int;
        }
        // SAFETY: malloc_trim(3) takes no pointer and only returns free pages to the kernel; it may be
        // called at any time, from any thread.
        unsafe {
            malloc_trim(0);
        }
    }
}
