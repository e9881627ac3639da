.PHONY: demo test install

# Install everything and start the app on the embedded default (SQLite, filesystem broker, tiny models).
demo:
	scripts/demo.sh

# Install everything and run lint, migration checks and the test suite.
test:
	scripts/test.sh

install:
	scripts/install.sh
