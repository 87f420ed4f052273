fn main() -> std::process::ExitCode {
    aitriage::cli::main()
}
