//! `aggregate`: append pytest-benchmark reports to a suite history (replaces aggregate.py).

fn main() -> std::process::ExitCode {
    aggregate::cli::main()
}
