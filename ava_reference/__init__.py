"""Python reference implementation of the device contract (CONTRACT.md). It plays the AVA app's
androidTest code inside the virtual device's `am instrument`. It deliberately does not import
the harness: like the Kotlin implementation, it knows only the contract."""
