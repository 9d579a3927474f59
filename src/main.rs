fn main() {
    std::process::exit(rctr::cli::main());
}
