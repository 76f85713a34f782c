//! Bounds on glibc's allocator for a long-running server.
//!
//! By default glibc gives threads up to eight arenas per core, and raises its mmap threshold
//! each time a large block is freed, after which large blocks (request bodies, list pages)
//! come from the arenas. Freed memory then stays in whichever arena held it, and RSS creeps up
//! under a varied load until every arena has reached its own high-water mark: a soak of reads,
//! event streams, lists, bad bodies and trading cycles grew by about 630 KB a minute for ten
//! minutes (BENCHMARKS.md). Two arenas and a fixed threshold keep it flat. `MALLOC_ARENA_MAX`
//! and `MALLOC_MMAP_THRESHOLD_` in the environment still win, as glibc documents.

/// Arenas for all threads; the server's threads mostly wait.
const ARENAS: i32 = 2;

/// Blocks from this size up are mapped on their own and returned to the system when freed.
const MMAP_THRESHOLD: i32 = 256 * 1024;

/// Applies the bounds; call before the runtime's threads start. Not glibc: nothing to do.
/// The project's one call into C outside tests: glibc has no other way to set these from
/// inside the process.
#[allow(unsafe_code)]
pub fn bound_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; it is called before other threads
        // of ours allocate.
        unsafe {
            if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
                libc::mallopt(libc::M_ARENA_MAX, ARENAS);
            }
            if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
        }
    }
}
