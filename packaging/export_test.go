package packaging

// Test helpers for the external tests in package packaging_test.
var (
	FakeELF    = fakeELF
	TestSigner = testSigner
	SDE        = sde
)
