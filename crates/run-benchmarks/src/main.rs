//! `run-benchmarks`: run every suite, keep histories, build GPE lists, publish (replaces run_benchmarks.sh).

fn main() -> std::process::ExitCode {
    run_benchmarks::cli::main()
}
