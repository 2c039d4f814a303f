//! The `dengbao` command line: see `dengbao --help`.

fn main() -> std::process::ExitCode {
    dengbao::heap::limit_arenas();
    dengbao::cli::main()
}
