"""Access by vehicle: convalescence bases by car, rider zones by e-bike."""
