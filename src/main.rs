//! The `dengbao` command line: see `dengbao --help`.

fn main() -> std::process::ExitCode {
    dengbao::cli::main()
}
