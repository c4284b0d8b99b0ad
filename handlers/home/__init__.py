"""The main menu, help, consent and the fallbacks: screens every feature may show."""
