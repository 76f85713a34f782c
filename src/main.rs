fn main() -> std::process::ExitCode {
    trading_planner::cli::run()
}
