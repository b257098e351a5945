//! `build-list`: write the list.json index GPE reads (replaces buildlist.py).

fn main() -> std::process::ExitCode {
    build_list::cli::main()
}
