"""A kitchen assistant for a meal-kit service: the second, small example agent."""
