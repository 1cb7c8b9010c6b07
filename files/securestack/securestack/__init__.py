"""SecureStack: the operations API of the system integration.demoapp deploys."""
