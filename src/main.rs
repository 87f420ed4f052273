fn main() -> std::process::ExitCode {
    limit_allocator_arenas();
    aitriage::cli::main()
}

/// glibc's allocator gives a thread that finds its arena busy a new one, up to eight per core,
/// and each arena keeps what is freed in it for that arena alone. A server whose blocking
/// threads take turns on the database meets that often, and memory freed by one burst stays
/// resident, spread over arenas the next burst does not use. Two arenas per core keep
/// contention as low on this workload and the memory reused: measured by `aitriage bench`,
/// resident memory at 100,000 cases fell by 10 to 20 MB on both backends, with intake no
/// slower. An arena limit set in the environment (`MALLOC_ARENA_MAX`, or `arena_max` in
/// `GLIBC_TUNABLES`) is left to glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn limit_allocator_arenas() {
    use std::ffi::c_int;
    extern "C" {
        fn mallopt(param: c_int, value: c_int) -> c_int;
    }
    /// glibc's malloc.h.
    const M_ARENA_MAX: c_int = -8;
    let tuned = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
    if std::env::var_os("MALLOC_ARENA_MAX").is_some() || tuned {
        return;
    }
    let arenas = c_int::try_from(2 * aitriage::config::cores()).unwrap_or(c_int::MAX);
    // SAFETY: mallopt only sets one of the allocator's parameters, under the allocator's own
    // lock, and has no precondition on its caller; it runs before any other thread exists.
    unsafe {
        mallopt(M_ARENA_MAX, arenas);
    }
}

/// Other allocators have nothing to limit.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_allocator_arenas() {}
