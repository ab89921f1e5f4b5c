fn main() {
    println!("maturin-tool");
}
